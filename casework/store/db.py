"""Opening the case store: engine, migrations on first use, the key check, sessions."""

from __future__ import annotations

import fcntl
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, insert, inspect, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from casework.store import audit_chain
from casework.store.audit_mount import AuditMount
from casework.store.crypto import Sealer, load_or_create_key
from casework.store.errors import StoreUnavailable
from casework.store.link_key import LinkKey
from casework.store.tables import CaseRow, StoreMeta
from plans.errors import RehabError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def _alembic_config() -> Any:
    from alembic.config import Config  # noqa: PLC0415  # only to migrate: Alembic takes ~0.5 s to import

    # No URL here: migrations run on the connection handed over (env.py), and a URL in an
    # ini-style config would be %-interpolated, which fails on an escaped password and quotes it.
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def where(engine: Engine) -> str:
    """The store's URL as it may be shown: never its password."""
    return engine.url.render_as_string(hide_password=True)


def make_sql_engine(url: str, *, busy_timeout: float = 30.0) -> Engine:
    """An engine for the store; SQLite gets WAL, a busy timeout (seconds a writer waits for
    another), foreign keys and secure delete."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": busy_timeout})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]  # DBAPI hook
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
            # A deleted row's bytes are overwritten, not left in a free page: what a purge
            # deletes is gone from the file (security.md rule 9).
            cursor.execute("PRAGMA secure_delete=ON")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


def head_revision() -> str:
    """The newest migration this code knows: migrations are numbered in one line, `NNNN_*.py`
    with revision "NNNN", so the highest number is the head (a test holds this to Alembic's own
    reading). Read without Alembic, so a command that finds its store current never imports it."""
    numbers = [p.name[:4] for p in (MIGRATIONS / "versions").glob("[0-9][0-9][0-9][0-9]_*.py")]
    return max(numbers)


def current_revision(engine: Engine) -> str | None:
    """The migration the database is at, or None for an empty database."""
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one_or_none()


def upgrade(engine: Engine) -> None:
    """Bring the database to the newest migration (no-op when it is there). One process at a
    time: two that open a new store at once would both create its tables."""
    from alembic import command  # noqa: PLC0415  # only to migrate (see _alembic_config)

    with _migration_lock(engine), engine.begin() as conn:
        config = _alembic_config()
        config.attributes["connection"] = conn
        command.upgrade(config, "head")  # reads the version again, under the lock


@contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    """On SQLite, a lock file beside the database for the migration (on PostgreSQL the
    migrations' env.py takes an advisory lock in its transaction instead)."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        yield
        return
    fd = os.open(f"{database}.migrate-lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def database_reason(exc: DBAPIError) -> str:
    """The database's own first line ("database is locked"), never the statement or its
    parameters, which SQLAlchemy's message quotes and which may hold a case's data."""
    lines = str(exc.orig).strip().splitlines()
    return (lines[0] if lines else type(exc.orig).__name__)[:200]


def _settle_case_keys(engine: Engine, sealer: Sealer) -> None:
    """Finish what the keyring may have been left owing: move data keys still kept in the
    database (as before the keyring) out of it, and destroy the keys of purged cases (a purge
    interrupted between its transaction and the keyring)."""
    with engine.begin() as conn:
        kept = conn.execute(
            select(CaseRow.code, CaseRow.data_key_wrapped).where(
                CaseRow.data_key_wrapped.is_not(None)
            )
        ).all()
        for code, wrapped in kept:
            if wrapped is not None:  # written (and synced) there before it leaves here
                sealer.adopt_case_key(code, wrapped)
        if kept:
            conn.execute(update(CaseRow).values(data_key_wrapped=None))
    live = set(sealer.live_case_keys())
    if live:
        with engine.connect() as conn:
            purged = conn.execute(select(CaseRow.code).where(CaseRow.purged_at.is_not(None)))
            owed = [code for code in purged.scalars() if code in live]
        if owed:
            sealer.destroy_case_keys(owed)


@dataclass
class Store:
    """An open case store: where sessions come from, how personal data is sealed, and the
    audit chain's keys and head on the key mount."""

    engine: Engine
    sealer: Sealer
    sessions: sessionmaker[Session]
    audit: AuditMount
    links: LinkKey

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on error."""
        with self.sessions.begin() as session:
            yield session

    def compact(self, tables: list[str]) -> None:
        """After a purge, leave no copy of the deleted rows in the database's files: on SQLite
        (whose deletes overwrite, see `make_sql_engine`) empty the WAL, which still holds the
        pages as they were; on PostgreSQL rewrite the tables, as a plain VACUUM leaves dead
        rows' bytes in the pages' free space (a table it does not own is skipped, with a
        warning: run the purge as the tables' owner)."""
        if self.engine.dialect.name == "sqlite":
            with self.engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            return
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table in tables:
                conn.execute(text(f'VACUUM FULL "{table}"'))

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def _meet_the_key(engine: Engine, key_file: Path) -> tuple[Sealer, AuditMount]:
    """Check the secret key against the store (a new store: record its check value and id)."""
    with engine.begin() as conn:
        meta = {k: v for k, v in conn.execute(select(StoreMeta.key, StoreMeta.value))}
        check = meta.get("key_check")
        key = load_or_create_key(key_file, may_create=check is None)
        store_id = meta.get("store_id") or secrets.token_hex(8).encode()
        sealer = Sealer(key, key_file, store_id=store_id.decode())
        if check is None:
            conn.execute(insert(StoreMeta).values(key="key_check", value=sealer.check_value()))
        else:
            sealer.verify(check)
        if "store_id" not in meta:
            conn.execute(insert(StoreMeta).values(key="store_id", value=store_id))
        mount = AuditMount(key_file, store_id.decode())
        audit_chain.settle(conn, mount)
    return sealer, mount


def open_store(url: str, key_file: Path, *, busy_timeout: float = 30.0) -> Store:
    """Open the store: migrate it if needed, then check the secret key against it."""
    engine = make_sql_engine(url, busy_timeout=busy_timeout)
    try:
        if current_revision(engine) != head_revision():
            upgrade(engine)
        try:
            sealer, mount = _meet_the_key(engine, key_file)
        except IntegrityError:  # another process opened this new store at the same moment:
            sealer, mount = _meet_the_key(engine, key_file)  # what it wrote is checked now
        _settle_case_keys(engine, sealer)
    except DBAPIError as exc:
        engine.dispose()
        raise StoreUnavailable(where(engine), database_reason(exc)) from exc
    except RehabError:
        engine.dispose()
        raise
    except Exception as exc:  # e.g. a migration that failed: its text may quote the URL
        engine.dispose()
        raise StoreUnavailable(where(engine), f"{type(exc).__name__}; nothing was changed") from exc
    except BaseException:
        engine.dispose()
        raise
    sessions = sessionmaker(engine, expire_on_commit=False, info={audit_chain.MOUNT: mount})
    return Store(engine, sealer, sessions, mount, LinkKey(key_file))
