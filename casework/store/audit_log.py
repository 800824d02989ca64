"""Reading the audit log: a case's rows for a supervisor, and the chain's verdict."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from casework.store import audit_verify
from casework.store.codes import stored_code
from casework.store.db import Store
from casework.store.tables import AuditRow


def case_rows(store: Store, *, code: str) -> list[dict[str, Any]]:
    """Every audit row of the case, oldest first: when, who, what, its ids; a note only as
    the fact that one is kept (sealed), never its text."""
    with store.session() as session:
        code = stored_code(session, code)  # however its letters were typed
        rows = session.scalars(
            select(AuditRow).where(AuditRow.case_code == code).order_by(AuditRow.id)
        ).all()
        return [
            {
                "id": r.id,
                "at": r.at.isoformat(),
                "actor": r.actor,
                "action": r.action,
                "detail": r.detail,
                "note": r.note_sealed is not None,
            }
            for r in rows
        ]


def verify(store: Store) -> audit_verify.Verdict:
    """Walk the whole chain against the audit keys and head on the key mount (read-only)."""
    with store.session() as session:
        return audit_verify.verify(session)
