"""Appending to the audit log: who did what to which case, chained to the row before, naming
the door session the change came through."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from casework.store import audit_chain
from casework.store.acting import current_session
from casework.store.crypto import Sealer
from casework.store.tables import AuditRow


def audit(
    session: Session,
    *,
    sealer: Sealer,
    case_code: str | None,
    actor: str,
    action: str,
    now: datetime,
    detail: dict[str, Any] | None = None,
    note: str | None = None,
) -> None:
    """Append who did what to which case, chained to the row before; a note is sealed with the
    case's data key, since it may name people."""
    audit_chain.append(
        session,
        AuditRow(
            at=now,
            case_code=case_code,
            actor=actor,
            action=action,
            detail=_with_session(detail),
            note_sealed=sealer.seal_text(note, case=case_code),
        ),
    )


def _with_session(detail: dict[str, Any] | None) -> dict[str, Any]:
    """The row's detail, naming the door session the change came through (if it did)."""
    through = current_session()
    if through is None or (detail and "session" in detail):
        return detail or {}
    return {**(detail or {}), "session": through}
