"""Shared helpers of the benchmarks: databases, process measurement, a results file, plans
made due at one moment."""

from __future__ import annotations

import json
import os
import statistics
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from casework.store.tables import CaseRow, PlanRevisionRow

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results.json"
POSTGRES = os.environ.get(
    "REHAB_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
PAGE = os.sysconf("SC_PAGE_SIZE")
TICKS = os.sysconf("SC_CLK_TCK")


@contextmanager
def database(kind: str, folder: Path, name: str = "cases") -> Iterator[str]:
    """A fresh database URL: a SQLite file in `folder`, or a new PostgreSQL database."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / f'{name}.db'}"
        return
    db = f"rehab_bench_{name}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{db}"'))
    try:
        yield make_url(POSTGRES).set(database=db).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
        admin.dispose()


def tree(pid: int) -> list[int]:
    """A process and all its descendants."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        todo.extend(children.get(current, []))
    return out


def rss_bytes(pids: list[int]) -> int:
    """Resident memory of the given processes and all their descendants."""
    total = 0
    for root in pids:
        for pid in tree(root):
            with suppress(OSError):
                total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
    return total


def process_count(pids: list[int]) -> int:
    """How many processes the given ones and their descendants are."""
    return sum(len(tree(pid)) for pid in pids)


def cpu_seconds(pids: list[int]) -> float:
    """CPU time of the processes, their live descendants and their reaped children."""
    total = 0
    for root in pids:
        for pid in tree(root):
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
    return total / TICKS


def median(values: list[float]) -> float:
    """The median, rounded for printing."""
    return round(statistics.median(values), 3)


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile."""
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(share * len(ordered)))], 3)


def record(database_kind: str, figures: dict[str, Any]) -> None:
    """Merge figures into bench/results.json under the database's name."""
    data = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    data.setdefault(database_kind, {}).update(figures)
    RESULTS.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def make_due(store_url: str, prefix: str, at: datetime) -> datetime:
    """Make the parked `prefix` plans all due at one moment (`at`, to the second), as if they
    had been launched with that start: their plan revision and wake time say so."""
    due_at = at.replace(microsecond=0)
    engine = create_engine(store_url)
    like = CaseRow.code.like(f"{prefix}-%")
    with Session(engine) as session, session.begin():
        for revision in session.scalars(select(PlanRevisionRow).join(CaseRow).where(like)):
            plan = dict(revision.plan)
            plan["start"] = due_at.strftime("%Y-%m-%dT%H:%M:%S")
            plan["steps"] = [dict(plan["steps"][0], start="0s")]
            revision.plan = plan
        for case in session.scalars(select(CaseRow).where(like)):
            case.start, case.wake_at = due_at, due_at
    engine.dispose()
    return due_at
