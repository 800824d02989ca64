"""Benchmark: the clock's cost per tick with 10, 1,000 and 10,000 waiting plans and none due,
on SQLite and on PostgreSQL.

    .venv/bin/python bench/clock_tick.py [--databases sqlite postgresql] [--repeat 200]

A tick's database work is one indexed range query on cases.wake_at (a case whose flow run
could not be created is simply due). The waiting rows are made the cheapest honest way: bulk
INSERTs of case rows, each with a plan revision, as `rehab plan launch` writes them, with wake
times spread over the next year. Nothing is due, so no Prefect call is made: what is measured is
exactly what a tick costs when everything waits.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert  # after the path set-up

from bench.common import database, median, percentile, record
from casework.store import queries
from casework.store.db import open_store
from casework.store.tables import CaseRow, PlanRevisionRow

SIZES = (10, 1_000, 10_000)
PLAN = {
    "case": "X",
    "manager": "cm",
    "timezone": "Europe/Minsk",
    "steps": [
        {"id": "wait", "domain": "housing", "title": "Wait", "partner": "p", "start": "365d"}
    ],
}


def fill(url: str, key: Path, waiting: int, now: datetime) -> None:
    """Add waiting cases until there are `waiting` of them."""
    store = open_store(url, key)
    with store.session() as session:
        have = session.query(CaseRow).count()
        rows = [
            dict(
                code=f"WAIT-{i:06d}",
                episode=1,
                state="active",
                manager="cm",
                supervisor="boss",
                revision=1,
                start=now,
                wakes=1,
                version=1,
                wake_at=now + timedelta(minutes=1 + i % 525_000),
                flow_run_id=f"00000000-0000-0000-0000-{i:012d}",
                created_at=now,
                updated_at=now,
            )
            for i in range(have, waiting)
        ]
        for start in range(0, len(rows), 2000):
            ids = (
                session.execute(insert(CaseRow).returning(CaseRow.id), rows[start : start + 2000])
                .scalars()
                .all()
            )
            session.execute(
                insert(PlanRevisionRow),
                [
                    dict(
                        case_id=cid,
                        episode=1,
                        revision=1,
                        plan=PLAN,
                        created_by="cm",
                        created_at=now,
                    )
                    for cid in ids
                ],
            )
    store.dispose()


def tick_ms(url: str, key: Path, now: datetime, repeat: int) -> list[float]:
    """Milliseconds of the clock's queries, `repeat` times."""
    store = open_store(url, key)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        due = queries.due_wakes(store, now=now)
        times.append((time.perf_counter() - start) * 1000)
        assert due == [], "nothing may be due"
    store.dispose()
    return times


def main() -> None:
    """Measure and print the tick cost per database and number of waiting plans."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--databases", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    now = datetime.now(UTC)
    print(f"{'database':<11} {'waiting':>8} {'p50 ms':>8} {'p95 ms':>8} {'vs 10':>7}")
    for kind in args.databases:
        with tempfile.TemporaryDirectory() as tmp, database(kind, Path(tmp)) as url:
            key = Path(tmp) / "key"
            result: dict[str, float] = {}
            for size in SIZES:
                fill(url, key, size, now)
                times = tick_ms(url, key, now, args.repeat)
                result[str(size)] = median(times)
                print(
                    f"{kind:<11} {size:>8} {median(times):>8} {percentile(times, 0.95):>8} "
                    f"{median(times) / result['10']:>6.2f}x",
                    flush=True,
                )
            record(kind, {"clock_tick_ms": result})


if __name__ == "__main__":
    main()
