"""CPU and Prefect database bytes per wake: today's design (the clock's API calls) beside the
prototype that executes the plan flow in the clock's process (bench/inprocess_wake.py), on one
server and one runner, in alternating rounds of plans all due at one moment. Used by
`bench/scale.py --inprocess`."""

from __future__ import annotations

import sqlite3
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import create_engine, text

from bench.common import cpu_seconds, make_due
from tests.e2e.harness import wait_for

TODAY = "TDY"
PREFIX = "INP"  # bench/inprocess_wake.PREFIX (importing it would load Prefect's settings early)
TAIL_S = 15.0  # after the last wake: what the server still does for it (events, logs) counts too


class Stack(Protocol):
    """What of bench/scale.py's Stack this needs."""

    folder: Path

    def api_post(self, path: str, body: Any) -> Any: ...

    def count(self, state: str, flow_name: str) -> int: ...

    def pids(self, *names: str) -> list[int]: ...


Launch = Callable[[str, int], None]  # (prefix, count): launched and parked
Shown = Callable[[str, datetime], int]  # (prefix, since): plans whose artifact was updated


def backend_cpu(urls: list[str]) -> dict[int, float]:
    """CPU seconds of each PostgreSQL backend serving these databases (none for SQLite)."""
    found: dict[int, float] = {}
    for url in urls:
        if not url.startswith("postgresql"):
            continue
        engine = create_engine(url)
        with engine.connect() as conn:
            pids = conn.execute(
                text(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid()"
                )
            ).scalars()
            for pid in pids:
                found[int(pid)] = cpu_seconds([int(pid)])
        engine.dispose()
    return found


Sample = tuple[float, float, dict[int, float]]  # the server, the runner, each db backend


def sample(stack: Stack, urls: list[str]) -> Sample:
    """CPU seconds so far of the server, of the runner, and of each database backend."""
    return cpu_seconds(stack.pids("server")), cpu_seconds(stack.pids("runner")), backend_cpu(urls)


def spent(before: Sample, after: Sample) -> tuple[float, float, float]:
    """CPU seconds between two samples: of the server, the runner and the backends (one that
    began in between counts whole; one that ended in between is not known)."""
    backends = sum(cpu - before[2].get(pid, 0.0) for pid, cpu in after[2].items())
    return after[0] - before[0], after[1] - before[1], backends


def prefect_db_bytes(folder: Path, prefect_url: str | None) -> int:
    """Bytes Prefect's database uses: pages in use (SQLite), or the database's size."""
    if prefect_url is None:
        with sqlite3.connect(f"file:{folder / 'prefect' / 'prefect.db'}?mode=ro", uri=True) as db:
            pages, free, size = (
                db.execute(f"PRAGMA {p}").fetchone()[0]
                for p in ("page_count", "freelist_count", "page_size")
            )
        return int((pages - free) * size)
    engine = create_engine(prefect_url)
    with engine.connect() as conn:
        size = conn.execute(text("SELECT pg_database_size(current_database())")).scalar()
    engine.dispose()
    return int(size or 0)


def one_round(
    stack: Stack,
    prefix: str,
    due: int,
    *,
    shown: Shown,
    store_url: str,
    prefect_url: str | None,
) -> dict[str, float]:
    """Wake `due` parked plans of `prefix` at once; CPU and bytes per wake, and the wall time."""
    total = stack.count("PAUSED", "rehabilitation-plan")
    urls = [store_url] + ([prefect_url] if prefect_url else [])
    due_at = make_due(store_url, prefix, datetime.now(UTC) + timedelta(seconds=20))
    # Until then nothing is due: what the server and runner spend idle, per second.
    idle0, idle_at = sample(stack, urls), time.monotonic()
    time.sleep(max(0.0, (due_at - datetime.now(UTC)).total_seconds() - 2))
    began, start = time.monotonic(), sample(stack, urls)
    idle_rate = sum(spent(idle0, start)) / (began - idle_at)
    bytes0 = prefect_db_bytes(stack.folder, prefect_url)
    # Done when every plan shows its started step and every plan run waits again.
    wait_for(lambda: shown(prefix, due_at) >= due, timeout=20 * 60, what=f"{prefix} shown", every=3)
    wait_for(
        lambda: stack.count("PAUSED", "rehabilitation-plan") >= total,
        timeout=10 * 60,
        what=f"{prefix} runs suspended again",
        every=3,
    )
    wall = (datetime.now(UTC) - due_at).total_seconds()
    time.sleep(TAIL_S)
    server, runner, backends = spent(start, sample(stack, urls))
    processes = server + runner
    idle = idle_rate * (time.monotonic() - began)
    return {
        "cpu": processes / due,
        "cpu_with_db": (processes + backends) / due,
        "cpu_net_of_idle": (processes + backends - idle) / due,
        "runner_cpu": runner / due,
        "idle_cpu_per_s": idle_rate,
        "bytes": (prefect_db_bytes(stack.folder, prefect_url) - bytes0) / due,
        "wall": wall,
    }


def compare_wakes(
    stack: Stack,
    *,
    launch: Launch,
    shown: Shown,
    store_url: str,
    prefect_url: str | None,
    due: int,
    rounds: int,
    say: Callable[[str], None],
) -> dict[str, Any]:
    """Alternate rounds of today's wakes and in-process wakes; medians per wake, the ratio."""
    designs = {"today": TODAY, "inprocess": PREFIX}
    for r in range(rounds):
        for prefix in designs.values():
            say(f"launching {due} plans {prefix}{r}, parked")
            launch(f"{prefix}{r}", due)
    seen: dict[str, list[dict[str, float]]] = {name: [] for name in designs}
    for r in range(rounds):
        order = list(designs.items()) if r % 2 == 0 else list(designs.items())[::-1]
        for name, prefix in order:
            figures = one_round(
                stack,
                f"{prefix}{r}",
                due,
                shown=shown,
                store_url=store_url,
                prefect_url=prefect_url,
            )
            say(f"round {r} {name}: " + ", ".join(f"{k} {v:.4g}" for k, v in figures.items()))
            seen[name].append(figures)

    def med(name: str, key: str, digits: int = 3) -> float:
        return round(statistics.median(f[key] for f in seen[name]), digits)

    out: dict[str, Any] = {"inprocess_due_at_once": due, "inprocess_rounds": rounds}
    for name, label in (("today", "inprocess_today"), ("inprocess", "inprocess")):
        out[f"{label}_cpu_s_per_wake"] = med(name, "cpu")
        out[f"{label}_cpu_s_per_wake_rounds"] = [round(f["cpu"], 3) for f in seen[name]]
        out[f"{label}_wall_s_for_all"] = med(name, "wall", 1)
        out[f"{label}_prefect_db_bytes_per_wake"] = round(med(name, "bytes", 0))
        if prefect_url:
            out[f"{label}_cpu_s_per_wake_with_db_backends"] = med(name, "cpu_with_db")
        out[f"{label}_cpu_s_per_wake_net_of_idle"] = med(name, "cpu_net_of_idle")
        out[f"{label}_runner_cpu_s_per_wake"] = med(name, "runner_cpu")
    out["inprocess_to_today_ratio"] = round(
        out["inprocess_cpu_s_per_wake"] / out["inprocess_today_cpu_s_per_wake"], 2
    )
    out["inprocess_to_today_ratio_net_of_idle"] = round(
        out["inprocess_cpu_s_per_wake_net_of_idle"]
        / out["inprocess_today_cpu_s_per_wake_net_of_idle"],
        2,
    )
    if prefect_url:
        out["inprocess_to_today_ratio_with_db_backends"] = round(
            out["inprocess_cpu_s_per_wake_with_db_backends"]
            / out["inprocess_today_cpu_s_per_wake_with_db_backends"],
            2,
        )
    return out
