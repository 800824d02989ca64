"""Shared fixtures: the shipped directories, and a fresh case store on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from casework.store.db import Store, open_store
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


@pytest.fixture
def fresh_postgres(postgres_admin_url: str) -> Iterator[str]:
    """A new, empty PostgreSQL database for one test, dropped afterwards."""
    name = f"rehab_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(postgres_admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The case store's URL: a file in tmp_path, or a fresh PostgreSQL database."""
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
