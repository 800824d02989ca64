"""The Prefect side's cost of a launch and of a wake, today's code beside an earlier commit's,
side by side in one run (`bench/scale.py --compare-with REF`): rounds alternate between the
two, each on a fresh server and runner of its own code; medians of the rounds are reported."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, select, update

from bench.common import ROOT, cpu_seconds, database, make_due
from bench.ui_check import ui_mismatches
from casework.store.tables import AuditRow, CaseRow
from tests.e2e.harness import wait_for


def checkout(ref: str, into: Path) -> Path:
    """The tree of `ref` (a commit of this repository), unpacked into `into`."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", ref], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def one_round(
    stack_type: Any, code: Path, kind: str, *, plans: int, template: str
) -> dict[str, float]:
    """Launch `plans` plans, then make them all due at once: CPU and wall per each."""
    with (
        tempfile.TemporaryDirectory() as tmp,
        database(kind, Path(tmp)) as store,
        database(kind, Path(tmp), "prefect") as prefect_db,
    ):
        url = None if kind == "sqlite" else prefect_db.replace("+psycopg", "+asyncpg")
        stack = stack_type(Path(tmp), url, store, 8, code=code)
        try:
            stack.up()
            return _measure(stack, code, store, plans=plans, template=template)
        finally:
            stack.stop()


def _measure(stack: Any, code: Path, store: str, *, plans: int, template: str) -> dict[str, float]:
    launches = due = plans
    names = ("server", "runner")
    far = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    env = dict(stack.env, PYTHONPATH=str(code))
    extra = [template, far, "365d"]
    cpu0 = cpu_seconds(stack.pids(*names))
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "launch_batch.py"), "DUE", str(launches), *extra],
        env=env,
        cwd=code,
        check=True,
        capture_output=True,
        text=True,
    )
    launched = json.loads(done.stdout.strip().splitlines()[-1])
    time.sleep(3)  # the runner's share of the launches (their wakes) settles
    cpu1 = cpu_seconds(stack.pids(*names))
    due_at = make_due(store, "DUE", datetime.now(UTC) + timedelta(seconds=12))
    engine = create_engine(store)
    started = select(func.count()).where(
        AuditRow.action == "step-started", AuditRow.case_code.like("DUE-%")
    )
    # What server and runner burn with nothing to do (the clock's and the runner's polls), so
    # that the wakes' own share can be told apart.
    idle_from, idle_cpu = time.monotonic(), cpu_seconds(stack.pids(*names))
    time.sleep(max(0.0, (due_at - datetime.now(UTC)).total_seconds() - 1))
    cpu2, began = cpu_seconds(stack.pids(*names)), time.monotonic()
    idle_per_s = (cpu2 - idle_cpu) / (began - idle_from)
    with engine.connect() as conn:
        wait_for(
            lambda: conn.execute(started).scalar_one() >= due,
            timeout=900,
            what="the due plans to start",
            every=1,
        )
    # Done when every due plan's run shows its started step (the wake's Prefect side ended).
    wait_for(
        lambda: len({a["key"] for a in stack.shown("DUE", due_at)}) >= due,
        timeout=900,
        what="the runs to show the started steps",
        every=2,
    )
    cpu3, ended = cpu_seconds(stack.pids(*names)), time.monotonic()
    quiet = _quiet_wakes(stack, engine, names, due=due, idle_per_s=idle_per_s)
    engine.dispose()
    truth: dict[str, float] = {}
    if code == ROOT:  # today's tree says what its runs should show
        checked = ui_mismatches(stack, "DUE")
        print(f"ui check: {checked}", file=sys.stderr, flush=True)
        truth["ui_mismatches"] = checked["ui_mismatches"]
    return truth | {
        "in_process_launches_per_s": launches / launched["seconds"],
        "cpu_s_per_launch": (launched["cpu_s"] + cpu1 - cpu0) / launches,
        "cpu_s_per_wake": (cpu3 - cpu2) / due,
        "cpu_s_per_wake_net_of_idle": (cpu3 - cpu2 - idle_per_s * (ended - began)) / due,
        **quiet,
    }


def _quiet_wakes(
    stack: Any, engine: Any, names: tuple[str, ...], *, due: int, idle_per_s: float
) -> dict[str, float]:
    """The same plans woken again with nothing new for them (their first check-in is a minute
    after the first wake, their messages sent): CPU per wake until each is off the clock."""
    time.sleep(5)  # the first wakes' messages sent and their runs shown afresh
    at = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=3)
    woken = update(CaseRow).where(CaseRow.code.like("DUE-%")).values(wake_at=at)
    still_due = select(func.count()).where(CaseRow.code.like("DUE-%"), CaseRow.wake_at <= at)
    with engine.begin() as conn:
        conn.execute(woken)
    time.sleep(max(0.0, (at - datetime.now(UTC)).total_seconds() - 0.5))
    cpu0, began = cpu_seconds(stack.pids(*names)), time.monotonic()
    with engine.connect() as conn:
        wait_for(
            lambda: conn.execute(still_due).scalar_one() == 0,
            timeout=300,
            what="the quiet wakes",
            every=0.5,
        )
    time.sleep(2)  # a reconciled wake's Prefect side follows within the tick
    cpu1, ended = cpu_seconds(stack.pids(*names)), time.monotonic()
    return {
        "quiet_cpu_s_per_wake": (cpu1 - cpu0) / due,
        "quiet_cpu_s_per_wake_net_of_idle": (cpu1 - cpu0 - idle_per_s * (ended - began)) / due,
    }


def compare(
    stack_type: Any, ref: str, kind: str, *, rounds: int, plans: int, template: str
) -> dict[str, Any]:
    """Alternate rounds of `ref`'s code and today's; medians, and today's against `ref`'s."""
    with tempfile.TemporaryDirectory() as tmp:
        before_code = checkout(ref, Path(tmp))
        runs: dict[str, list[dict[str, float]]] = {"before": [], "after": []}
        for n in range(rounds):
            for name, code in (("before", before_code), ("after", ROOT)):
                print(f"round {n + 1}/{rounds}: {name}", file=sys.stderr, flush=True)
                runs[name].append(one_round(stack_type, code, kind, plans=plans, template=template))
    figures: dict[str, Any] = {"prefect_calls_ref_before": ref, "prefect_calls_rounds": rounds}
    figures["prefect_calls_plans"] = plans
    for name, rows in runs.items():
        for key in rows[0]:
            values = [row[key] for row in rows]
            figures[f"prefect_calls_{key}_{name}"] = round(statistics.median(values), 3)
            figures[f"prefect_calls_{key}_{name}_rounds"] = [round(v, 3) for v in values]
    for key in runs["after"][0]:
        if f"prefect_calls_{key}_before" not in figures:
            continue  # measured of today's tree only
        before, after = (
            figures[f"prefect_calls_{key}_before"],
            figures[f"prefect_calls_{key}_after"],
        )
        figures[f"prefect_calls_{key}_after_to_before"] = round(after / max(before, 1e-9), 2)
    return figures
