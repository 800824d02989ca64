"""Opening the case store: engine, migrations on first use, the key check, sessions."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, insert, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from casework.store.crypto import Sealer, load_or_create_key
from casework.store.tables import StoreMeta
from plans.errors import RehabError

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


class StoreUnavailable(RehabError):
    """The case store's database cannot be reached or opened."""


def _alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return config


def make_engine(url: str) -> Engine:
    """An engine for the store; SQLite gets WAL, a busy timeout and foreign keys."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]  # DBAPI hook
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


def head_revision() -> str:
    """The newest migration this code knows."""
    script = ScriptDirectory(str(MIGRATIONS))
    return str(script.get_current_head())


def current_revision(engine: Engine) -> str | None:
    """The migration the database is at, or None for an empty database."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine) -> None:
    """Bring the database to the newest migration (no-op when it is there)."""
    with engine.begin() as conn:
        config = _alembic_config(engine)
        config.attributes["connection"] = conn
        command.upgrade(config, "head")


@dataclass
class Store:
    """An open case store: where sessions come from, and how personal data is sealed."""

    engine: Engine
    sealer: Sealer
    sessions: sessionmaker[Session]

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on error."""
        with self.sessions.begin() as session:
            yield session

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def open_store(url: str, key_file: Path) -> Store:
    """Open the store: migrate it if needed, then check the secret key against it."""
    engine = make_engine(url)
    try:
        if current_revision(engine) != head_revision():
            upgrade(engine)
        with engine.begin() as conn:
            check = conn.execute(
                select(StoreMeta.value).where(StoreMeta.key == "key_check")).scalar()
            key = load_or_create_key(key_file, may_create=check is None)
            sealer = Sealer(key, key_file)
            if check is None:
                conn.execute(insert(StoreMeta).values(key="key_check",
                                                      value=sealer.check_value()))
            else:
                sealer.verify(check)
    except OperationalError as exc:
        engine.dispose()
        where = engine.url.render_as_string(hide_password=True)
        raise StoreUnavailable(f"cannot open the case store at {where}: "
                               f"{str(exc.orig).strip().splitlines()[0]}") from exc
    except BaseException:
        engine.dispose()
        raise
    return Store(engine, sealer, sessionmaker(engine, expire_on_commit=False))
