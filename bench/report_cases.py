"""Benchmark: the programme report over N cases (default 10,000) in a fresh store.

    .venv/bin/python bench/report_cases.py [--cases 10000] [--database sqlite|postgresql]

Writes N synthetic cases (tests/report_population.py: people sealed with their own data
keys, steps, check-ins, consents, approvals, launches and breaches in the audit chain), then
times `rehab report since-start` and `rehab report monthly` in process: reading the store in
bulk (one unseal per person, in memory), counting and protecting, rendering md and html. Each
figure is the median of a few runs, also per case. For comparison, the naive way: one case at
a time through the ORM (its row, revisions, steps and consents loaded, its person unsealed),
timed on a sample and given per case.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from sqlalchemy import select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import RESULTS, database  # noqa: E402  # after the path set-up above
from casework.store.db import open_store  # noqa: E402
from casework.store.report_source import partner_kinds, read_people  # noqa: E402
from casework.store.repository import find_case_row  # noqa: E402
from casework.store.tables import CaseRow  # noqa: E402
from plans.loading import load_directories  # noqa: E402
from report.periods import monthly, since_start  # noqa: E402
from report.release import build  # noqa: E402
from report.render_html import to_html  # noqa: E402
from report.render_text import to_md  # noqa: E402
from tests.report_population import population, write  # noqa: E402

T = TypeVar("T")
TZ = "Europe/Minsk"
RUNS = 3
NAIVE_SAMPLE = 500


def _timed(work: Callable[[], T]) -> tuple[float, T]:
    """Seconds the work took, and what it gave."""
    began = time.perf_counter()
    result = work()
    return time.perf_counter() - began, result


def main() -> None:
    """Build the store, time the report, print and record the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()
    directories = load_directories(
        ROOT / "plans" / "examples" / "partners.yaml", ROOT / "plans" / "examples" / "staff.yaml"
    )
    now = datetime(2026, 12, 3, 9, tzinfo=UTC)
    with tempfile.TemporaryDirectory() as folder, database(args.database, Path(folder)) as url:
        store = open_store(url, Path(folder) / "secret.key")
        people = population(args.cases, seed=1)
        chunk = 1000
        began = time.perf_counter()
        for i in range(0, len(people), chunk):
            write(store, people[i : i + chunk])
            print(f"written {min(i + chunk, len(people))}/{len(people)} cases", file=sys.stderr)
        write_s = time.perf_counter() - began
        figures: dict[str, float | int] = {"cases": len(people), "write_ms_per_case": 0.0}
        figures["write_ms_per_case"] = round(1000 * write_s / len(people), 3)
        for name, period in (
            ("since_start", since_start(now, TZ)),
            ("monthly", monthly("2026-11", TZ)),
        ):
            read, count, render = [], [], []
            for _ in range(RUNS):
                t_read, read_back = _timed(lambda: read_people(store, directories, tz=TZ))
                t_count, made = _timed(
                    lambda read_back=read_back, period=period: build(
                        read_back,
                        period,
                        threshold=11,
                        release_id="bench",
                        partner_kinds=partner_kinds(directories),
                        scopes=["statistics"],
                    )
                )
                t_render, _ = _timed(lambda made=made: (to_md(made), to_html(made)))
                read.append(t_read)
                count.append(t_count)
                render.append(t_render)
            total = statistics.median(
                r + c + d for r, c, d in zip(read, count, render, strict=True)
            )
            figures[f"{name}_read_s"] = round(statistics.median(read), 3)
            figures[f"{name}_count_and_protect_s"] = round(statistics.median(count), 3)
            figures[f"{name}_render_s"] = round(statistics.median(render), 3)
            figures[f"{name}_ms_per_case"] = round(1000 * total / len(people), 4)
        with store.session() as session:
            codes = session.scalars(select(CaseRow.code).limit(NAIVE_SAMPLE)).all()
        began = time.perf_counter()
        for code in codes:  # the way the report must not read: a case at a time through the ORM
            with store.session() as session:
                row = find_case_row(session, code=code)
                assert row is not None and row.person_sealed is not None
                store.sealer.open(row.person_sealed, data_key=row.data_key_wrapped)
        naive = (time.perf_counter() - began) / len(codes)
        bulk = figures["since_start_read_s"] / len(people)
        figures["naive_read_ms_per_case"] = round(1000 * naive, 4)
        figures["bulk_read_ms_per_case"] = round(1000 * bulk, 4)
        figures["naive_to_bulk_ratio"] = round(naive / bulk, 1)
        store.dispose()
    print(json.dumps({args.database: figures}, indent=2))
    data = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    data.setdefault("report", {})[args.database] = figures
    RESULTS.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
