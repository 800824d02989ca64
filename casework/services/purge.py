"""Erasure (security.md rule 9): a closed case is purged after the programme's retention
period, or at once on a director's order. Its person, notes and data key are destroyed (so no
copy of its sealed data, backups included, opens again), its queued messages withdrawn, its
rows of history deleted (the case row stays as its tombstone, with only the facts the report
counts: casework/store/purged_history.py), and the audit log keeps a tombstone: the code, when, by
whom, why. Its Prefect runs are deleted
by the caller (flows/tending.py), since the store knows nothing of Prefect."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select

from casework.domain.access import authorize_director
from casework.domain.case import ENDED_CASE, IMPORTED
from casework.domain.errors import CaseStillOpen, ReasonNamesPerson
from casework.services.unit_of_work import canonical_code, transaction
from casework.store import purged_history
from casework.store.audit_rows import audit
from casework.store.db import Store
from casework.store.partner_tables import PartnerAnswerRow
from casework.store.repository import get_case_row, read_person
from casework.store.tables import CaseRow, OutboxRow
from plans.directories import Directories
from plans.screening import names_person

RETENTION_ACTOR = "retention"
# The tables a purge deletes from or rewrites a row of: compacted after it (Store.compact).
TOUCHED = [
    "cases",
    "plan_revisions",
    "steps",
    "check_ins",
    "consents",
    "decisions",
    "outbox",
    "imported_cases",
    "partner_answers",
]


def purge(
    store: Store, directories: Directories | None, *, code: str, reason: str, by: str, now: datetime
) -> None:
    """Erase an ended case. `directories` checks that `by` is a director (None: the clock's
    retention, which acts as the programme)."""
    code = canonical_code(store, code)
    if directories is not None:
        authorize_director(directories, by=by, action="purge the case", code=code)
    with transaction(store, code) as session:  # the engine may be writing the case now
        row = get_case_row(session, code=code)
        if row.state not in ENDED_CASE and row.state != IMPORTED:  # imported: never launched
            raise CaseStillOpen(code, row.state)
        person = read_person(store.sealer, row)
        if person is not None and names_person(reason, person):
            raise ReasonNamesPerson(code)
        row.purged_history = purged_history.freeze(
            session, row, None if person is None else person.model_dump(mode="json")
        )
        purged_history.forget(session, row)
        row.person_sealed, row.reason, row.flow_run_id = None, None, None
        row.closed_to = None  # where she went: gone with her person
        row.purged_at, row.wake_at = now, None
        # Messages not sent yet are withdrawn; every message row goes (its key names the
        # case, its step and partner), the audit log keeps what was sent, and to whom.
        queued = session.scalar(
            select(func.count()).where(
                OutboxRow.case_code == code, OutboxRow.status.in_(("pending", "sending"))
            )
        )
        session.execute(delete(OutboxRow).where(OutboxRow.case_code == code))
        session.execute(delete(PartnerAnswerRow).where(PartnerAnswerRow.case_code == code))
        audit(
            session,
            sealer=store.sealer,
            case_code=code,
            actor=by,
            action="case-purged",
            now=now,
            detail={"reason": reason, "messages_withdrawn": queued or 0},
        )
    # After the commit: if this process dies first, the store's next opening destroys it.
    store.sealer.destroy_case_keys([code])  # whatever was sealed with it, anywhere, is noise
    store.compact(TOUCHED)


def past_retention(store: Store, directories: Directories, *, now: datetime) -> list[str]:
    """Codes of ended cases not touched for longer than the programme's retention period."""
    retention = directories.staff.retention
    if retention is None:
        return []
    with store.session() as session:
        return list(
            session.scalars(
                select(CaseRow.code).where(
                    CaseRow.state.in_(ENDED_CASE),
                    CaseRow.purged_at.is_(None),
                    CaseRow.updated_at <= now - retention,
                )
            )
        )


def purged_since(store: Store, *, since: datetime) -> list[str]:
    """Codes of cases purged since `since`: their Prefect side is looked at again, in case a
    run that was ending when they were purged published something after the purge."""
    with store.session() as session:
        return list(session.scalars(select(CaseRow.code).where(CaseRow.purged_at >= since)))
