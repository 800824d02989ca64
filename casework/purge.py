"""Erasure (security.md rule 9): a closed case is purged after the programme's retention
period, or at once on a director's order. Its person, notes and data key are destroyed (so no
copy of its sealed data, backups included, opens again), its queued messages withdrawn, and
the audit log keeps a tombstone: the code, when, by whom, why. Its Prefect runs are deleted
by the caller (flows/tending.py), since the store knows nothing of Prefect."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from casework.access import authorize_director
from casework.domain import ENDED_CASE, IMPORTED
from casework.services import canonical_code, transaction
from casework.store.db import Store
from casework.store.repository import audit, get_case_row, read_person
from casework.store.tables import CaseRow, OutboxRow
from plans.directories import Directories
from plans.errors import CaseStillOpen, ReasonNamesPerson
from plans.screening import names_person

RETENTION_ACTOR = "retention"


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
        row.person_sealed = None
        for consent in row.consents:
            consent.note_sealed = None
        row.purged_at, row.wake_at = now, None
        queued = session.scalars(
            select(OutboxRow).where(
                OutboxRow.case_code == code, OutboxRow.status.in_(("pending", "sending"))
            )
        ).all()
        for message in queued:
            message.status, message.last_error = "cancelled", "the case was purged"
        audit(
            session,
            sealer=store.sealer,
            case_code=code,
            actor=by,
            action="case-purged",
            now=now,
            detail={"reason": reason, "messages_withdrawn": len(queued)},
        )
    # After the commit: if this process dies first, the store's next opening destroys it.
    store.sealer.destroy_case_keys([code])  # whatever was sealed with it, anywhere, is noise


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
