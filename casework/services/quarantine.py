"""Quarantine (security.md rule 13): a case the engine cannot tend is set aside, reported and
left alone, so one bad case never stops the engine for the others.

A wake that fails for a reason of the case itself (its plan makes one wake create more
check-ins than `domain.MAX_CHECK_INS_PER_WAKE`, or anything else goes wrong in its reconcile)
quarantines it: the case row says when and why (codes and ids only), one audit row by the
engine, and its supervisor and case manager are told through the outbox. The clock then
shows it on the plan's run (tag `failed`, the reason as its state message) and gives the case
no more wakes. A person's changes are still recorded; an amendment (`rehab plan amend`, the
fix) or the plan's end lifts the quarantine, and the next wake tries again. Trouble that is
not the case's (the database unreachable, a racing change) only makes it due again."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import Session

from casework.domain.case import ENDED_CASE, IMPORTED
from casework.domain.errors import WakeTooLarge
from casework.domain.notices import Notice
from casework.services.unit_of_work import ENGINE, retry_on_conflict, transaction
from casework.store.audit_rows import audit
from casework.store.db import Store
from casework.store.errors import CaseNotFound, CasePurged, Conflict, StoreUnavailable
from casework.store.outbox_rows import queue_notices
from casework.store.tables import CaseRow, OutboxRow

REASON_CHARS = 300  # the column's width


def is_transient(exc: BaseException) -> bool:
    """True for trouble that is not the case's own: the store unreachable or busy, a racing
    change, a case erased or gone meanwhile. The case is simply looked at again."""
    if isinstance(exc, (Conflict, StoreUnavailable, CaseNotFound, CasePurged)):
        return True
    return isinstance(exc, (OperationalError, InterfaceError)) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated
    )


def reason_for(exc: BaseException) -> str:
    """Why a wake failed, for the case row, the audit log and the supervisor: our own bound
    says what it found; any other error is named by its type only (its text may quote
    stored values)."""
    if isinstance(exc, WakeTooLarge):
        return (
            f"one wake would create more than {exc.limit} check-ins of step {exc.step} "
            f"(check_ins.every {exc.every})"
        )
    return f"its wake failed ({type(exc).__name__})"


def _row(session: Session, code: str) -> CaseRow:
    # The row alone: its revisions and steps may be what cannot be read.
    return session.scalars(select(CaseRow).where(CaseRow.code == code)).one()


def quarantine(store: Store, *, code: str, reason: str, now: datetime) -> bool:
    """Set the case aside: no more wakes, an audit row, its supervisor and case manager told.
    Due at once, so the clock shows it on the plan's run. False if it was already set aside
    or has ended (nothing to do)."""

    def write() -> bool:
        with transaction(store, code) as session:
            row = _row(session, code)
            if row.quarantined_at is not None or row.state in (*ENDED_CASE, IMPORTED):
                return False
            row.quarantined_at, row.quarantine_reason = now, reason[:REASON_CHARS]
            row.wake_at, row.updated_at = now, now
            # Reminders of a schedule the engine could not tend are not sent.
            for message in session.scalars(
                select(OutboxRow).where(
                    OutboxRow.case_code == code,
                    OutboxRow.kind == "reminder",
                    OutboxRow.status == "pending",
                )
            ):
                message.status, message.last_error = "cancelled", "case quarantined"
            detail = {"reason": row.quarantine_reason, "episode": row.episode}
            detail["revision"] = row.revision
            audit(
                session,
                sealer=store.sealer,
                case_code=code,
                actor=ENGINE,
                action="case-quarantined",
                now=now,
                detail=detail,
            )
            # One message per quarantine: only a new revision or episode lifts it.
            occurrence = f"{row.episode}.{row.revision}"
            queue_notices(
                session,
                notices=[
                    Notice("case-quarantined", f"staff:{staff}", code, now, None, occurrence)
                    for staff in dict.fromkeys((row.supervisor, row.manager))
                ],
                now=now,
            )
            return True

    return retry_on_conflict(write)


def park(store: Store, *, code: str) -> None:
    """Its run shows the quarantine: the case leaves the clock until a person acts."""

    def write() -> None:
        with transaction(store, code) as session:
            row = _row(session, code)
            if row.quarantined_at is not None:
                row.wake_at = None

    retry_on_conflict(write)
