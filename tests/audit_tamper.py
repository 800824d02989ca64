"""What someone who can write the case store's database (not its key mount) can do to the audit
log, for tests/integration/test_audit_chain.py: change rows past the append-only triggers,
re-make the chain with plain SHA-256, move the database's head, insert rows as the engine's
role."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, select, text
from sqlalchemy.engine import make_url

from casework.store.audit_chain import GENESIS, HEAD, row_hash
from casework.store.db import Store
from casework.store.tables import AuditRow

ENGINE_LOGIN = "rehab_engine_test"


def behind_the_databases_back(store: Store, *sql: str) -> None:
    """Change the log as someone with the database file (or a superuser) could: past the
    append-only triggers."""
    with store.engine.begin() as conn:
        _past_the_triggers(conn)
        for statement in sql:
            conn.execute(text(statement))


def _past_the_triggers(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SET LOCAL session_replication_role = replica"))
    else:
        conn.execute(text("DROP TRIGGER IF EXISTS audit_log_no_update"))
        conn.execute(text("DROP TRIGGER IF EXISTS audit_log_no_delete"))


def rechain_with_sha256(store: Store, *, from_id: int = 0) -> None:
    """Re-make the chain from row `from_id` on with plain SHA-256, as rows were chained before
    audit keys (no key id), and move the database's head to the new last hash."""
    with store.engine.begin() as conn:
        _past_the_triggers(conn)
        rows = conn.execute(select(AuditRow.__table__).order_by(AuditRow.id)).mappings().all()
        prev = GENESIS
        for row in rows:
            if row["id"] < from_id:
                prev = row["row_hash"]
                continue
            this = row_hash(prev, **_hashed(row))
            conn.execute(
                AuditRow.__table__.update()
                .where(AuditRow.id == row["id"])
                .values(prev_hash=prev, row_hash=this, **_no_key())
            )
            prev = this
        move_head(conn, prev)


def move_head(conn: Connection, value: str) -> None:
    """Point the database's own record of the chain's head at `value`."""
    conn.execute(
        text("UPDATE store_meta SET value = :v WHERE key = :k"),
        {"v": value.encode(), "k": HEAD},
    )


def _no_key() -> dict[str, Any]:
    """The row claims no audit key, as a row from before keys (on a log that has the column)."""
    return {"key_id": None} if "key_id" in AuditRow.__table__.c else {}


def _hashed(row: Any) -> dict[str, Any]:
    return {
        "at": row["at"],
        "case_code": row["case_code"],
        "actor": row["actor"],
        "action": row["action"],
        "detail": row["detail"],
        "note_sealed": row["note_sealed"],
    }


def last_row(store: Store) -> AuditRow:
    """The log's last row."""
    with store.session() as session:
        return session.scalars(select(AuditRow).order_by(AuditRow.id.desc()).limit(1)).one()


@contextmanager
def as_the_engine(store: Store, url: str) -> Iterator[Engine]:
    """A connection to the store as the engine itself may run: on PostgreSQL a login in the
    role `rehab_engine` (INSERT into the audit log, no UPDATE or DELETE of it)."""
    if make_url(url).get_backend_name() != "postgresql":
        yield store.engine
        return
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(text(f"SELECT 1 FROM pg_roles WHERE rolname = '{ENGINE_LOGIN}'"))
        if exists.scalar() is None:
            conn.execute(text(f"CREATE ROLE {ENGINE_LOGIN} LOGIN IN ROLE rehab_engine"))
    admin.dispose()
    engine = create_engine(make_url(url).set(username=ENGINE_LOGIN))
    try:
        yield engine
    finally:
        engine.dispose()


def insert_forged(engine: Engine, *, at: datetime, key_id: str | None, prev: str) -> int:
    """Insert a row chained after `prev` with plain SHA-256 (the one hash anyone can make),
    move the database's head to it, and return its id."""
    row = {
        "at": at,
        "case_code": None,
        "actor": "operator",
        "action": "programme-policy",
        "detail": {"from": "required", "to": "not-required"},
        "note_sealed": None,
    }
    this = row_hash(prev, **row)
    with engine.begin() as conn:
        new_id = conn.execute(
            AuditRow.__table__.insert()
            .values(
                **row,
                prev_hash=prev,
                row_hash=this,
                **({"key_id": key_id} if key_id else _no_key()),
            )
            .returning(AuditRow.id)
        ).scalar_one()
        move_head(conn, this)
    return int(new_id)
