"""Benchmark: how many bytes Prefect's database grows per plan wake, with the plan's artifacts
updated in place (as rehab does) beside a new artifact version per wake (as it did before).

A living plan's run is never vacuumed, so whatever a wake adds stays for the plan's whole life
(months). Both ways publish the same timeline, progress and one log line per wake, on one
Prefect server (SQLite), one after the other; the figures are the growth of the database's used
pages (by what they hold: events expire after Prefect's retention, the rest stays), and the
median time of one wake's publishing.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO
from uuid import UUID

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # after the path set-up

from bench.common import median, record
from tests.e2e.harness import PREFECT, free_port, wait_for


@dataclass(frozen=True)
class Wake:
    """What one wake of one plan publishes."""

    run: str
    key: str
    code: str
    text: str
    share: float
    lines: list[tuple[datetime, str]]


Publish = Callable[[Wake], None]


def say(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


PAUSED = {"type": "PAUSED"}


def post(url: str, body: dict[str, object]) -> str:
    """Create something; a busy server (SQLite locked: 503) is asked again. Its id."""
    for attempt in range(10):
        response = httpx.post(url, json=body, timeout=60)
        if response.status_code < 500 or attempt == 9:
            response.raise_for_status()
            return str(response.json()["id"])
        time.sleep(1 + attempt)
    raise AssertionError("not reached")


def healthy(api: str) -> bool:
    """Whether the server answers yet."""
    try:
        return httpx.get(f"{api}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


GROUPS = {"artifact": "artifacts", "artifact_collection": "artifacts", "log": "logs"}
EXPIRING = "events"  # Prefect deletes events after its retention period (7 days by default)


def used_bytes(db: Path) -> dict[str, int]:
    """Bytes of pages in use in the server's SQLite database, after a checkpoint, by what they
    hold: artifacts, logs, events (which expire), the rest; indexes count with their table."""
    with sqlite3.connect(db, timeout=60) as conn:
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        table_of = dict(conn.execute("SELECT name, tbl_name FROM sqlite_master").fetchall())
        sizes = conn.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name").fetchall()
    grouped: dict[str, int] = {}
    for name, size in sizes:
        table = table_of.get(name, name)
        group = GROUPS.get(table, EXPIRING if table.startswith("event") else "other")
        grouped[group] = grouped.get(group, 0) + int(size)
    return grouped


def timeline(code: str, wake: int) -> str:
    """A timeline about as long as a real plan's (8 steps, a dozen events)."""
    rows = "\n".join(
        f"| 2026-12-{1 + i % 28:02d} 09:{wake % 60:02d} Europe/Minsk | step-{i} | check-in "
        f"{wake} recorded: attended | brest-partner-{i} |"
        for i in range(12)
    )
    return f"# Plan {code}\n\n| when | step | what | who |\n|---|---|---|---|\n{rows}\n"


def main() -> None:
    """Start a server, publish every way, print and record the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plans", type=int, default=20)
    parser.add_argument("--wakes", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        api = f"http://127.0.0.1:{port}/api"
        os.environ.update(
            PREFECT_HOME=str(Path(tmp) / "prefect"),
            PREFECT_API_URL=api,
            PREFECT_SERVER_ANALYTICS_ENABLED="false",
            PREFECT_SERVER_UI_ENABLED="false",
            PREFECT_LOGGING_LEVEL="WARNING",
        )
        log = (Path(tmp) / "server.log").open("ab")
        server = subprocess_server(port, log)
        try:
            wait_for(lambda: healthy(api), timeout=180, what="the Prefect server")
            figures = measure(api, Path(tmp) / "prefect" / "prefect.db", args.plans, args.wakes)
        finally:
            server.terminate()
            server.wait(timeout=60)
    record("sqlite", figures)
    width = max(len(k) for k in figures)
    print("\nsqlite (Prefect's database, per plan wake):")
    for key, value in figures.items():
        print(f"  {key:<{width}}  {value}")


def subprocess_server(port: int, log: IO[bytes]) -> subprocess.Popen[bytes]:
    """`prefect server start` on SQLite, as `rehab up` starts it."""
    return subprocess.Popen(
        [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def measure(api: str, db: Path, plans: int, wakes: int) -> dict[str, float | int]:
    """Each way on its own runs: the database's growth per wake and a wake's median time."""
    from flows.prefect.publish import post_logs  # noqa: PLC0415  # after PREFECT_API_URL
    from flows.prefect.run_artifacts import publish  # noqa: PLC0415  # after PREFECT_API_URL

    flow = post(f"{api}/flows/", {"name": "bench-plan"})

    def runs(prefix: str) -> list[str]:
        return [
            post(f"{api}/flow_runs/", {"flow_id": flow, "name": f"{prefix}-{n}", "state": PAUSED})
            for n in range(plans)
        ]

    def in_place(w: Wake) -> None:
        publish(w.run, key=w.key, code=w.code, markdown=w.text, progress=w.share)
        post_logs([(w.run, at, line) for at, line in w.lines])

    figures: dict[str, float | int] = {}
    for name, way in (("in_place", in_place), ("versions", versions_way())):
        ids = runs(name.upper())
        before = used_bytes(db)
        took = []
        for wake in range(wakes):
            for n, run in enumerate(ids):
                code = f"{name.upper().replace('_', '-')}-{n}"
                started = time.perf_counter()
                lines = [(datetime.now(UTC), f"check-in-recorded step-{wake % 8} (wake {wake})")]
                way(
                    Wake(
                        run, f"plan-{code.lower()}", code, timeline(code, wake), wake / wakes, lines
                    )
                )
                took.append(time.perf_counter() - started)
            if wake % 10 == 9:
                say(f"{name}: {wake + 1}/{wakes} wakes of {plans} plans")
        after = used_bytes(db)
        grown = {g: after.get(g, 0) - before.get(g, 0) for g in after}
        per_wake = plans * wakes
        figures[f"prefect_db_bytes_per_wake_{name}"] = round(sum(grown.values()) / per_wake)
        figures[f"prefect_db_lasting_bytes_per_wake_{name}"] = round(
            sum(v for g, v in grown.items() if g != EXPIRING) / per_wake
        )
        for group in ("artifacts", "logs", EXPIRING):
            figures[f"prefect_db_{group}_bytes_per_wake_{name}"] = round(
                grown.get(group, 0) / per_wake
            )
        figures[f"publish_s_per_wake_{name}_p50"] = median(took)
    figures["prefect_db_lasting_growth_versions_to_in_place_ratio"] = round(
        figures["prefect_db_lasting_bytes_per_wake_versions"]
        / max(1, figures["prefect_db_lasting_bytes_per_wake_in_place"]),
        1,
    )
    figures["artifact_growth_plans"], figures["artifact_growth_wakes"] = plans, wakes
    return figures


def versions_way() -> Publish:
    """How rehab published before: two new artifact versions and the logs on every wake."""
    from prefect.client.orchestration import get_client  # noqa: PLC0415
    from prefect.client.schemas.actions import ArtifactCreate, LogCreate  # noqa: PLC0415

    def publish(w: Wake) -> None:
        flow_run, key = UUID(w.run), w.key
        with get_client(sync_client=True) as client:
            client.create_artifact(
                ArtifactCreate(key=key, type="markdown", data=w.text, flow_run_id=flow_run)
            )
            client.create_artifact(
                ArtifactCreate(
                    key=f"{key}-progress", type="progress", data=w.share, flow_run_id=flow_run
                )
            )
            client.create_logs(
                [
                    LogCreate(
                        name="rehab.engine", level=20, message=m, timestamp=at, flow_run_id=flow_run
                    )
                    for at, m in w.lines
                ]
            )

    return publish


if __name__ == "__main__":
    main()
