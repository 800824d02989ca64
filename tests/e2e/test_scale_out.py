"""Outgrowing one process: PostgreSQL for both Prefect's server and the case store, with two
runners (each with its clock and outbox sender) serving the same deployments, or with the
deployments on a Prefect work pool, two process workers and the clock on its own."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from casework.store.tables import AuditRow, StoreMeta
from tests.e2e.harness import PrefectServer, Rehab, example_directories, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.postgresql]

PLAN = """
case: E2E-SCALE-{n}
manager: n-zdolnik
steps:
  - {{id: first, domain: housing, title: Crisis room, partner: brest-crisis-room,
      duration: 5s, check_ins: {{every: 2s, grace: 30s}}}}
  - {{id: second, domain: medical, title: Check, partner: brest-clinic, after: [first],
      duration: 3s}}
"""


@pytest.fixture
def postgres_pair(tmp_path: Path, fresh_postgres: str) -> Iterator[tuple[PrefectServer, str]]:
    """A Prefect server on PostgreSQL, and a PostgreSQL case store."""
    prefect_db = fresh_postgres.replace("postgresql+psycopg", "postgresql+asyncpg")
    server = PrefectServer(
        tmp_path / "prefect", PREFECT_API_DATABASE_CONNECTION_URL=prefect_db
    ).start()
    store = f"{fresh_postgres}_store"
    admin = create_engine(fresh_postgres, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{store.rsplit("/", 1)[1]}"')
    admin.dispose()
    try:
        yield server, store
    finally:
        server.stop(signal.SIGKILL)
        admin = create_engine(fresh_postgres, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(
                f'DROP DATABASE IF EXISTS "{store.rsplit("/", 1)[1]}" WITH (FORCE)'
            )
        admin.dispose()


def policy_recorded(engine: Rehab) -> bool:
    store = create_engine(engine.env["REHAB_DATABASE_URL"])
    try:
        with store.connect() as conn:
            return bool(
                conn.execute(select(StoreMeta.value).where(StoreMeta.key == "approval")).scalar()
            )
    except Exception:  # not migrated yet
        return False
    finally:
        store.dispose()


def engine_at(tmp_path: Path, name: str, server: PrefectServer, store: str) -> Rehab:
    home = tmp_path / name
    home.mkdir(mode=0o700)  # rehab refuses a home that others may read
    return Rehab(
        home,
        server,
        REHAB_DATABASE_URL=store,
        REHAB_REQUIRE_APPROVAL="false",
        REHAB_SECRET_KEY_FILE=str(tmp_path / "secret.key"),
        **example_directories(),
    )


@pytest.fixture
def two_runners(tmp_path: Path, postgres_pair: tuple[PrefectServer, str]) -> Iterator[list[Rehab]]:
    runners = [engine_at(tmp_path, name, *postgres_pair) for name in ("a", "b")]
    for engine in runners:
        engine.start_runner()
    try:
        yield runners
    finally:
        for engine in runners:
            engine.stop_runner(signal.SIGKILL)


def launch_and_complete(engines: list[Rehab]) -> None:
    """Four plans launched through the given engines all complete; each step started once."""
    a = engines[0]
    codes = [f"E2E-SCALE-{n}" for n in range(4)]
    for n, code in enumerate(codes):
        engines[n % len(engines)].rehab("plan", "launch", str(a.write_plan(code, PLAN.format(n=n))))
    for code in codes:
        wait_for(
            lambda code=code: a.status(code)["state"] == "completed",
            timeout=240,
            what=f"{code} to complete",
        )
        run_id = a.status(code)["flow_run_id"]
        wait_for(
            lambda run_id=run_id: a.run_state(run_id) == "COMPLETED",
            timeout=120,
            what=f"the run of {code} to end Completed",
        )
    store = create_engine(a.env["REHAB_DATABASE_URL"])
    with store.connect() as conn:
        started = conn.execute(
            select(AuditRow.case_code, AuditRow.detail).where(AuditRow.action == "step-started")
        ).all()
    store.dispose()
    assert len(started) == 2 * len(codes), "each step started once, whichever clock did it"


def test_plans_run_to_completion_with_two_runners_on_postgresql(two_runners: list[Rehab]) -> None:
    a, b = two_runners
    launch_and_complete([a, b])
    assert a.runner is not None and b.runner is not None
    assert a.runner.poll() is None and b.runner.poll() is None


def test_plans_run_to_completion_on_a_work_pool_with_two_workers(
    tmp_path: Path, postgres_pair: tuple[PrefectServer, str]
) -> None:
    engine = engine_at(tmp_path, "pool", *postgres_pair)
    prefect = str(Path(sys.executable).with_name("prefect"))
    subprocess.run(
        [prefect, "work-pool", "create", "rehab", "--type", "process"],
        env=engine.env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    subprocess.run(
        [sys.executable, "-m", "flows.prefect.deploy", "--work-pool", "rehab"],
        env=engine.env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    log = (engine.home / "processes.log").open("ab")
    processes = [
        subprocess.Popen(
            argv, env=engine.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        for argv in (
            [prefect, "worker", "start", "--pool", "rehab", "--name", "worker-1"],
            [prefect, "worker", "start", "--pool", "rehab", "--name", "worker-2"],
            [sys.executable, "-m", "flows.processes.serve", "--clock-only"],
        )
    ]
    try:
        # The engine (here the clock) records the programme's policy when it starts; a command
        # never reads REHAB_REQUIRE_APPROVAL itself.
        wait_for(lambda: policy_recorded(engine), timeout=120, what="the clock to start")
        launch_and_complete([engine])
        runs = engine.api(
            "POST", "/flow_runs/filter", {"flow_runs": {"name": {"like_": "E2E-SCALE"}}}
        )
        plan_runs = [r for r in runs if " · " not in r["name"]]  # the rest: check-in forms
        assert len(plan_runs) == 4 and {r["work_pool_name"] for r in runs} == {"rehab"}
        assert all(p.poll() is None for p in processes), "workers and clock still up"
    finally:
        for process in processes:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
