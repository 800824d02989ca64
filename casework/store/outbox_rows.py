"""Queueing messages in the outbox: one row per message key, a key already queued left alone."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from casework.domain.notices import Notice
from casework.store.tables import OutboxRow


def queue_notices(session: Session, *, notices: list[Notice], now: datetime) -> int:
    """Add messages to the outbox; one already queued under the same key is left alone."""
    if not notices:
        return 0
    values = [
        dict(
            key=n.key,
            case_code=n.case,
            step_id=n.step,
            kind=n.kind,
            occurrence=n.occurrence,
            recipient=n.recipient,
            due_at=n.due_at,
            status="pending",
            attempts=0,
            next_attempt_at=n.due_at,
            created_at=now,
        )
        for n in notices
    ]
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    result = session.execute(
        insert(OutboxRow)
        .values(values)
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(OutboxRow.id)
    )
    return len(result.all())
