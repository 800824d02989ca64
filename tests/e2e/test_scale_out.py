"""Outgrowing one process: PostgreSQL for both Prefect's server and the case store, and two
runners (each with its clock and outbox sender) serving the same deployments."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from casework.store.tables import AuditRow
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
def two_runners(tmp_path: Path, fresh_postgres: str) -> Iterator[list[Rehab]]:
    prefect_db = fresh_postgres.replace("postgresql+psycopg", "postgresql+asyncpg")
    server = PrefectServer(tmp_path / "prefect",
                           PREFECT_API_DATABASE_CONNECTION_URL=prefect_db).start()
    store = f"{fresh_postgres}_store"
    admin = create_engine(fresh_postgres, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{store.rsplit("/", 1)[1]}"')
    admin.dispose()
    runners = []
    for name in ("a", "b"):
        home = tmp_path / name
        home.mkdir()
        engine = Rehab(home, server, REHAB_DATABASE_URL=store, REHAB_REQUIRE_APPROVAL="false",
                       REHAB_SECRET_KEY_FILE=str(tmp_path / "secret.key"),
                       **example_directories())
        engine.start_runner()
        runners.append(engine)
    try:
        yield runners
    finally:
        for engine in runners:
            engine.stop_runner(signal.SIGKILL)
        server.stop(signal.SIGKILL)
        admin = create_engine(fresh_postgres, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(
                f'DROP DATABASE IF EXISTS "{store.rsplit("/", 1)[1]}" WITH (FORCE)')
        admin.dispose()


def test_plans_run_to_completion_with_two_runners_on_postgresql(
        two_runners: list[Rehab]) -> None:
    a, b = two_runners
    codes = [f"E2E-SCALE-{n}" for n in range(4)]
    for n, code in enumerate(codes):
        (a if n % 2 else b).rehab("plan", "launch", str(a.write_plan(code,
                                                                     PLAN.format(n=n))))
    for code in codes:
        wait_for(lambda code=code: a.status(code)["state"] == "completed", timeout=240,
                 what=f"{code} to complete")
    store = create_engine(a.env["REHAB_DATABASE_URL"])
    with store.connect() as conn:
        started = conn.execute(select(AuditRow.case_code, AuditRow.detail).where(
            AuditRow.action == "step-started")).all()
    store.dispose()
    assert len(started) == 2 * len(codes), "each step started once, whichever runner woke it"
    assert a.runner is not None and b.runner is not None
    assert a.runner.poll() is None and b.runner.poll() is None
