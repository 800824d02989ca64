"""A plan awaiting approval sent back to its case manager with a comment (security.md rule 3:
its supervisor or a director), and the comment read back by the case's staff. The comment is
sealed in the case store as the note of the audit row `plan-sent-back`: it never leaves the
store (the case manager's message says only who sent the plan back, and links to the case)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from casework.domain import transitions
from casework.domain.decision_kinds import approval_scope
from casework.services.case_guard import guard_case
from casework.services.errors import CommentRequired
from casework.services.recording import person_change
from casework.services.unit_of_work import Changed, canonical_code
from casework.store.audit_rows import audit
from casework.store.db import Store
from casework.store.decisions import record_decision
from casework.store.tables import AuditRow
from plans.directories import Directories

SENT_BACK = "plan-sent-back"  # the audit row's action; its note is the comment


def send_back(
    store: Store,
    directories: Directories,
    *,
    code: str,
    comment: str,
    by: str,
    now: datetime,
) -> Changed:
    """The case's supervisor (or a director) sends a plan awaiting approval back to its case
    manager: it waits for her amendment, its approval form closes as "sent-back", she is told."""
    comment = comment.strip()
    if not comment:
        raise CommentRequired(code)
    with person_change(
        store,
        directories,
        code,
        by=by,
        power="approve",
        doing="send the plan back",
        action=SENT_BACK,
        now=now,
        note=comment,
        screened=False,  # a note may name people: it is sealed, and read only by the case's staff
    ) as work:
        work.events += transitions.send_back(work.case, by, now)
        record_decision(
            work.session,
            case=work.row,
            kind="approval",
            scope=approval_scope(work.row.revision),
            decision="sent-back",
            by=by,
            now=now,
        )
    return work.changed


def sent_back_comment(
    store: Store, directories: Directories, *, code: str, by: str, now: datetime
) -> str | None:
    """The comment of the plan's latest send back, for the case's staff; the read is audited.
    None if it was never sent back (in this episode or before)."""
    code = canonical_code(store, code)
    guard_case(
        store, directories, code=code, by=by, doing="read why the plan was sent back", now=now
    )
    with store.session() as session:
        sealed = session.scalars(
            select(AuditRow.note_sealed)
            .where(
                AuditRow.case_code == code,
                AuditRow.action == SENT_BACK,
                AuditRow.note_sealed.is_not(None),
            )
            .order_by(AuditRow.id.desc())
            .limit(1)
        ).first()
        audit(
            session,
            sealer=store.sealer,
            case_code=code,
            actor=by,
            action="sent-back-comment-read",
            now=now,
            detail={"found": sealed is not None},
        )
    return None if sealed is None else str(store.sealer.open(sealed, case=code))
