"""`rehab up` starts the Prefect server with its SQLite tuning (bench/forms_under_load.py
measures what it is for), every setting one Prefect knows; and a form's code is judged by the
time the server took the form, within a bound."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from prefect.settings import Settings as PrefectSettings

from flows.prefect.server import SERVER_TUNING, server_command, server_environment
from flows.processes import children
from flows.processes.errors import ProcessStopped
from flows.processes.prefect_server_main import begin_writes_immediately, bind_plain_datetimes
from flows.settings import Settings


def test_rehab_up_starts_the_server_with_its_tuning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[dict[str, str]] = []
    commands: list[list[str]] = []

    class Stopped:
        returncode = 1
        stdout = None

        def __init__(self, argv: list[str], env: dict[str, str], **_: Any) -> None:
            started.append(env)
            commands.append(argv)

        def poll(self) -> int:
            return 1

    monkeypatch.setattr(children.subprocess, "Popen", Stopped)
    settings = Settings(home=tmp_path, prefect_port=4299, PREFECT_API_URL=None)
    log = io.StringIO()
    log.name = str(tmp_path / "server.log")
    with pytest.raises(ProcessStopped):
        children.start_server(settings, log)  # type: ignore[arg-type]  # only its name is read
    [env] = started
    assert commands == [server_command(4299)]
    assert commands[0][1:3] == ["-m", "flows.processes.prefect_server_main"], (
        "writes begun IMMEDIATE"
    )
    assert SERVER_TUNING.items() <= env.items()
    assert env["PREFECT_SERVER_SERVICES_LATE_RUNS_ENABLED"] == "false"
    untuned = server_environment(settings, tuned=False)
    assert all(untuned.get(k) != v for k, v in SERVER_TUNING.items())


def test_every_tuning_setting_is_one_prefect_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    default = PrefectSettings().server.services
    for name, value in SERVER_TUNING.items():
        monkeypatch.setenv(name, value)
    tuned = PrefectSettings().server.services
    assert default.late_runs.enabled and not tuned.late_runs.enabled


def test_the_servers_services_rehab_does_not_use_are_off_by_names_prefect_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A misspelt name would leave a service polling: each is read back through Prefect."""
    env = server_environment(Settings(home=tmp_path, prefect_port=4299, PREFECT_API_URL=None))
    services = [k for k in env if k.startswith("PREFECT_SERVER_SERVICES_")]
    for name in services:
        monkeypatch.setenv(name, env[name])
    running = PrefectSettings().server.services
    off = ("scheduler", "foreman", "cleanup_reconciler", "repossessor", "pause_expirations")
    assert all(not getattr(running, service).enabled for service in off)
    assert running.event_persister.enabled and running.task_run_recorder.enabled, (
        "the Event Feed and the runs' task runs are the supervisors' window"
    )
    assert running.db_vacuum.enabled and running.cancellation_cleanup.enabled


def test_the_servers_sqlite_transactions_begin_immediate_so_a_form_waits_its_turn(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A transaction of Prefect's server on a real SQLite file: begun DEFERRED by Prefect, a
    concurrent writer makes its first write fail at once; begun IMMEDIATE, it holds the write
    lock from its start, so the other writer waits (and, under the busy timeout, goes next)."""
    import asyncio  # noqa: PLC0415
    import sqlite3  # noqa: PLC0415

    from prefect.server.database.configurations import (  # noqa: PLC0415
        SQLITE_BEGIN_MODE,
        AioSqliteConfiguration,
    )

    # Put back after the test: the change is for the server's process, not this one.
    monkeypatch.setattr(
        AioSqliteConfiguration, "begin_transaction", AioSqliteConfiguration.begin_transaction
    )
    path = tmp_path / "prefect.db"
    sqlite3.connect(path).execute("CREATE TABLE t (x INTEGER)")
    config = AioSqliteConfiguration(connection_url=f"sqlite+aiosqlite:///{path}")

    async def begun_as() -> str | None:
        engine = await config.engine()
        try:
            session = await config.session(engine)
            async with session, config.begin_transaction(session):
                from sqlalchemy import text  # noqa: PLC0415

                await session.execute(text("SELECT count(*) FROM t"))
                other = sqlite3.connect(path, timeout=0)
                try:
                    other.execute("INSERT INTO t VALUES (1)")  # another writer, right now
                    other.commit()
                    return SQLITE_BEGIN_MODE.get()
                except sqlite3.OperationalError:  # locked: this transaction holds the lock
                    return f"{SQLITE_BEGIN_MODE.get()} (holding the write lock)"
                finally:
                    other.close()
        finally:
            await engine.dispose()

    assert asyncio.run(begun_as()) == "DEFERRED", "Prefect's own: the other writer gets in"
    begin_writes_immediately()
    assert asyncio.run(begun_as()) == "IMMEDIATE (holding the write lock)"


@pytest.mark.postgresql
def test_the_servers_timestamps_reach_postgresql_as_plain_datetimes_of_the_same_instant(
    fresh_postgres: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Prefect's own times (pendulum's, on this Python) are bound as plain UTC datetimes,
    and PostgreSQL keeps the instant they name, through the driver the server uses."""
    import asyncio  # noqa: PLC0415
    from datetime import UTC, datetime  # noqa: PLC0415

    import sqlalchemy as sa  # noqa: PLC0415
    from prefect.server.utilities.database import Timestamp  # noqa: PLC0415
    from prefect.types._datetime import now  # noqa: PLC0415
    from sqlalchemy.dialects import postgresql  # noqa: PLC0415
    from sqlalchemy.ext.asyncio import create_async_engine  # noqa: PLC0415

    # Put back after the test: the change is for the server's process, not this one.
    monkeypatch.setattr(Timestamp, "process_bind_param", Timestamp.process_bind_param)
    at = now("Asia/Tokyo")
    assert type(Timestamp().process_bind_param(at, postgresql.dialect())) is not datetime
    bind_plain_datetimes()
    bound = Timestamp().process_bind_param(at, postgresql.dialect())
    assert type(bound) is datetime and bound.tzinfo is UTC and bound == at

    table = sa.Table("times", sa.MetaData(), sa.Column("at", Timestamp()))
    url = fresh_postgres.replace("+psycopg", "+asyncpg")

    async def written_and_read() -> datetime:
        engine = create_async_engine(url)
        try:
            async with engine.begin() as conn:
                await conn.run_sync(table.metadata.create_all)
                await conn.execute(table.insert(), [{"at": at}])
                return (await conn.execute(sa.select(table.c.at))).scalar_one()
        finally:
            await engine.dispose()

    read = asyncio.run(written_and_read())
    assert read == at, "the same instant"
