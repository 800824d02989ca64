"""Shared fixtures: the shipped directories, and a fresh case store on SQLite and PostgreSQL.

Alembic runs once per session (per xdist worker), not per test: a test's SQLite store is a copy
of a file migrated once, its PostgreSQL store the worker's database migrated once and emptied
before each test. `tests/integration/test_migrations.py` runs every migration from empty."""

from __future__ import annotations

import os
import shutil
import sqlite3
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import MetaData, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool, Pool

from casework.services import staff_secrets
from casework.store.db import Store, make_sql_engine, open_store, upgrade
from flows.prefect.fake import RecordingPrefect
from plans.directories import Directories
from plans.loading import load_directories, load_plan
from plans.model import Plan

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "plans" / "examples"
TEMPLATES = ROOT / "plans" / "templates"
POSTGRES_URL = os.environ.get(
    "REHAB_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
T0 = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
# xdist names its workers gw0, gw1...; each gets databases of its own.
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")
TIERS = ("unit", "integration", "e2e")
ROLES_LOCK = 7_311_042  # any number; the same in every worker
SHIPPED_HASHER = staff_secrets.HASHER  # the parameters a password is hashed with outside tests


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test with its tier, the folder it is in: `-m unit`, `-m "not e2e"`."""
    tests = ROOT / "tests"
    for item in items:
        parts = item.path.relative_to(tests).parts
        if len(parts) > 1 and parts[0] in TIERS:
            item.add_marker(parts[0])


@pytest.fixture(autouse=True, scope="session")
def quick_password_hashes() -> Iterator[None]:
    """Passwords hashed in this process by argon2id at its least cost (as Django's tests swap
    in a quick hasher): still argon2id hashes, checked as such, in a millisecond instead of a
    tenth of a second. The shipped parameters are asserted in test_door_access.py, and the e2e
    tier's own processes keep them."""
    staff_secrets.HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    yield
    staff_secrets.HASHER = SHIPPED_HASHER


def _sqlite_unsynced(dbapi_conn: object, _record: object) -> None:
    if isinstance(dbapi_conn, sqlite3.Connection):
        dbapi_conn.execute("PRAGMA synchronous=OFF")


@pytest.fixture(autouse=True, scope="session")
def sqlite_commits_unsynced() -> Iterator[None]:
    """A test's SQLite commit does not wait for the disk (as its PostgreSQL database's
    `synchronous_commit = off`): no test outlives a crash of the machine. Only in this process:
    the stores the e2e tier's processes open sync as shipped."""
    event.listen(Pool, "connect", _sqlite_unsynced)
    yield
    event.remove(Pool, "connect", _sqlite_unsynced)


@pytest.fixture(scope="session")
def directories() -> Directories:
    return load_directories(EXAMPLES / "partners.yaml", EXAMPLES / "staff.yaml")


@pytest.fixture
def example_plan(directories: Directories) -> Plan:
    return load_plan(EXAMPLES / "BC-2026-0042.yaml", directories)


def _postgres_reason() -> str | None:
    try:
        engine = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
        with engine.connect():
            pass
        engine.dispose()
    except Exception as exc:  # any failure to connect means: skip, with the reason
        return f"PostgreSQL not reachable at {POSTGRES_URL}: {type(exc).__name__}"
    return None


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    reason = _postgres_reason()
    if reason:
        pytest.skip(reason)
    return POSTGRES_URL


def _database(admin_url: str, name: str) -> str:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
            # A test's commit need not wait for the disk: no test outlives a crash of the
            # server, and every one waits on its commits (a few ms each on this disk).
            conn.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
    finally:
        admin.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def _drop(admin_url: str, name: str) -> None:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def _new_name(kind: str) -> str:
    return f"rehab_{kind}_{WORKER}_{uuid.uuid4().hex[:12]}"


@pytest.fixture
def fresh_postgres(postgres_admin_url: str, postgres_emptied: Emptied) -> Iterator[str]:
    """A new, empty PostgreSQL database for one test, dropped afterwards. (After the
    worker's first migration made the cluster's roles: a test's own migration makes none,
    so two xdist workers never both create one.)"""
    name = _new_name("test")
    url = _database(postgres_admin_url, name)
    try:
        yield url
    finally:
        _drop(postgres_admin_url, name)


class Emptied:
    """A migrated database put back before each test as the migrations left it: every table
    emptied (TRUNCATE, the sequences restarted), the migrations' own rows put back. Quicker
    than a database per test (CREATE DATABASE from a template, DROP DATABASE)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = create_engine(url, poolclass=NullPool)
        with self.engine.connect() as conn:
            self.tables = MetaData()
            self.tables.reflect(conn)
            self.rows = {
                t: [dict(r._mapping) for r in conn.execute(table.select())]
                for t, table in self.tables.tables.items()
                if t != "alembic_version"
            }

    def empty(self) -> str:
        """Empty it, ending the connections a test before left open; its URL. Only the tables
        that hold rows are emptied, by DELETE with the triggers off (the audit log's
        append-only one, the foreign keys' checks): a test leaves a few rows, and a TRUNCATE
        costs new files for each table (about 40 ms a test). Every sequence a test used
        starts again."""
        with self.engine.begin() as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
            filled = set(conn.scalars(text(self._filled)))
            emptied = sorted(filled | {t for t, rows in self.rows.items() if rows})
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            for t in emptied:
                conn.execute(text(f'DELETE FROM "{t}"'))
            conn.execute(
                text(
                    "SELECT setval(format('%I.%I', schemaname, sequencename)::regclass,"
                    " start_value, false) FROM pg_sequences WHERE last_value IS NOT NULL"
                )
            )
            for t in emptied:
                if self.rows.get(t):
                    conn.execute(self.tables.tables[t].insert(), self.rows[t])
        return self.url

    @property
    def _filled(self) -> str:
        """A query naming the tables that hold a row."""
        return " UNION ALL ".join(
            f"SELECT '{t}' WHERE EXISTS (SELECT 1 FROM \"{t}\")" for t in self.rows
        )


@pytest.fixture(scope="session")
def postgres_emptied(postgres_admin_url: str) -> Iterator[Emptied]:
    """This worker's PostgreSQL database, migrated once, shared by its tests one at a time."""
    name = _new_name("test")
    engine = make_sql_engine(_database(postgres_admin_url, name))
    admin = create_engine(postgres_admin_url)
    try:
        # Roles are the cluster's, not a database's: on a new cluster two workers migrating at
        # once would both create `rehab_engine`. One at a time, under an advisory lock.
        with admin.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": ROLES_LOCK})
            try:
                upgrade(engine)
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": ROLES_LOCK})
        emptied = Emptied(engine.url.render_as_string(hide_password=False))
        yield emptied
        emptied.engine.dispose()
    finally:
        engine.dispose()
        admin.dispose()
        _drop(postgres_admin_url, name)


@pytest.fixture
def migrated_postgres(postgres_emptied: Emptied) -> str:
    """A PostgreSQL database at the head migration, as the migrations leave it."""
    return postgres_emptied.empty()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head once per session, copied for each test."""
    path = tmp_path_factory.mktemp("template") / "cases.db"
    engine = make_sql_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()  # the last connection's close folds the WAL into the file
    assert not path.with_name("cases.db-wal").exists()
    return path


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The case store's URL, migrated to head: a file in tmp_path, or a new PostgreSQL
    database."""
    if request.param == "sqlite":
        path = tmp_path / "cases.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    return str(request.getfixturevalue("migrated_postgres"))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def empty_store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL where no store is yet: a file name in tmp_path, or an empty PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'cases.db'}"
    return str(request.getfixturevalue("fresh_postgres"))


@pytest.fixture
def store(store_url: str, tmp_path: Path) -> Iterator[Store]:
    opened = open_store(store_url, tmp_path / "secret.key")
    try:
        yield opened
    finally:
        opened.dispose()


class PaperClock:
    """Time moves only when the test says so."""

    def __init__(self) -> None:
        self.at = T0

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def paper() -> PaperClock:
    """A paper clock at T0."""
    return PaperClock()


@pytest.fixture
def prefect() -> RecordingPrefect:
    """The Prefect side's fake, recording every call."""
    return RecordingPrefect()
