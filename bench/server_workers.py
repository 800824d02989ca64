"""Benchmark: Prefect's server as one process, as `rehab up` starts it, beside the same server
with several web workers, PostgreSQL only (Prefect refuses more than one worker on SQLite).
Several workers need what Prefect's multi-worker mode requires: its messaging, event ordering
and lease storage on Redis, and its background services in a process of their own
(`prefect server services start`); each worker's app has rehab's bulk-inputs route
(bench/server_workers_app.py).

    .venv/bin/python bench/server_workers.py [--workers 2] [--plans 300] [--due 100]
                                             [--rounds 2]

A round starts each way on fresh databases in turn: `--plans` plans launched by one
`rehab plan launch FILE...` (done by the engine), then `--due` more parked and made due at one
moment, counted until every one's timeline shows its started step, then every plan's run
compared with the store (`bench/ui_check.py`). CPU counts every process of the server (and the
services' process), the runner, the launcher and PostgreSQL's backends. Medians of the rounds
are printed side by side and merged into bench/results.json under `postgresql`, as
`server_workers` (needs Redis on 127.0.0.1:6379, whose database 7 it empties, and
prefect-redis: `pip install -e ".[bench]"`).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bulk_launch import launch, launchers_cpu, write_plans  # after the path set-up
from bench.common import cpu_seconds, database, make_due, record
from bench.scale import Stack, artifacts, say
from bench.ui_check import ui_mismatches
from bench.wake_compare import backend_cpu
from tests.e2e.harness import wait_for

REDIS_DB = "7"
REDIS = {
    "PREFECT_MESSAGING_BROKER": "prefect_redis.messaging",
    "PREFECT_MESSAGING_CACHE": "prefect_redis.messaging",
    "PREFECT_SERVER_EVENTS_CAUSAL_ORDERING": "prefect_redis.ordering",
    "PREFECT_SERVER_CONCURRENCY_LEASE_STORAGE": "prefect_redis.lease_storage",
    "PREFECT_REDIS_MESSAGING_HOST": "127.0.0.1",
    "PREFECT_REDIS_MESSAGING_PORT": "6379",
    "PREFECT_REDIS_MESSAGING_DB": REDIS_DB,
}
SERVER = ("server", "services", "runner")


class WorkersStack(Stack):
    """bench/scale.py's stack, its server in `workers` web workers (one: as `rehab up`)."""

    def __init__(self, *args: Any, workers: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.workers = workers

    def start_server(self) -> None:
        if self.workers == 1:
            super().start_server()
            return
        subprocess.run(["redis-cli", "-n", REDIS_DB, "flushdb"], check=True, capture_output=True)
        env = self.server_env | REDIS
        prefect = str(Path(sys.executable).with_name("prefect"))
        # Migrated first, once: workers that each find an empty database race to migrate it.
        upgrade = [prefect, "server", "database", "upgrade", "-y"]
        subprocess.run(upgrade, env=env, check=True, capture_output=True)
        argv = ["--port", str(self.port), "--workers", str(self.workers)]
        self.start("server", [sys.executable, "-m", "bench.server_workers_app", *argv], env)
        self.start("services", [prefect, "server", "services", "start"], env)


def one_round(workers: int, *, plans: int, due: int) -> dict[str, float]:
    """A fresh stack with `workers` web workers: a bulk launch, then `due` plans due at once."""
    with (
        tempfile.TemporaryDirectory() as tmp,
        database("postgresql", Path(tmp)) as store,
        database("postgresql", Path(tmp), "prefect") as prefect_db,
    ):
        folder = Path(tmp)
        url = prefect_db.replace("+psycopg", "+asyncpg")
        stack = WorkersStack(folder, url, store, 8, workers=workers)
        databases = [store, prefect_db]

        def cpu() -> float:
            """CPU seconds so far of the server, services, runner, launchers and backends."""
            engine = cpu_seconds(stack.pids(*SERVER)) + launchers_cpu()
            return engine + sum(backend_cpu(databases).values())

        try:
            stack.up()
            launch(stack, write_plans(folder / "warm", "WARM", 5))
            files = write_plans(folder / "bulk", "BULK", plans)
            cpu0, began = cpu(), time.monotonic()
            launch(stack, files)
            bulk_s, bulk_cpu = time.monotonic() - began, cpu() - cpu0

            launch(stack, write_plans(folder / "due", "DUE", due))
            due_at = make_due(store, "DUE", datetime.now(UTC) + timedelta(seconds=15))
            time.sleep(max(0.0, (due_at - datetime.now(UTC)).total_seconds() - 2))
            cpu0 = cpu()
            wait_for(
                lambda: len({a["key"] for a in artifacts(stack, "DUE", due_at)}) >= due,
                timeout=900,
                what="every due plan's timeline",
                every=2,
            )
            shown_s, wake_cpu = (datetime.now(UTC) - due_at).total_seconds(), cpu() - cpu0
            checked = ui_mismatches(stack, "DUE")
        finally:
            stack.stop()
    say(f"{workers} worker(s): {plans / bulk_s:.2f} launches/s, {wake_cpu / due:.3f} CPU-s a wake")
    return {
        "bulk_launches_per_s": plans / bulk_s,
        "bulk_cpu_s_per_launch": bulk_cpu / plans,
        "cpu_s_per_wake": wake_cpu / due,
        "all_shown_s": shown_s,
        "ui_mismatches": checked["ui_mismatches"],
    }


def main() -> None:
    """Rounds of both ways in turn; medians side by side."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--plans", type=int, default=300)
    parser.add_argument("--due", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    ways = {1: "one_process", args.workers: f"{args.workers}_workers"}
    rounds: dict[str, list[dict[str, float]]] = {name: [] for name in ways.values()}
    for n in range(args.rounds):
        for workers, name in ways.items():
            say(f"round {n + 1}/{args.rounds}: {name}")
            rounds[name].append(one_round(workers, plans=args.plans, due=args.due))
    figures: dict[str, Any] = {"plans": args.plans, "due": args.due, "rounds": args.rounds}
    for name, results in rounds.items():
        for key in results[0]:
            figures[f"{name}_{key}"] = round(statistics.median(r[key] for r in results), 3)
    record("postgresql", {"server_workers": figures})
    print(json.dumps({"postgresql": {"server_workers": figures}}, indent=2))


if __name__ == "__main__":
    main()
