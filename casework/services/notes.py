"""A case's notes (security.md rule 7): written by its staff from a page or stdin, sealed with
the case's data key, and read back only with a reason, every read an audit row (who, why)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from casework.domain.errors import PersonNamed, ReasonNamesPerson
from casework.services.case_guard import guard_case
from casework.services.errors import FieldRefused
from casework.services.unit_of_work import canonical_code, record_refusal
from casework.store.audit_rows import audit
from casework.store.db import Store
from casework.store.repository import get_case_row, read_person
from casework.store.tables import AuditRow
from plans.directories import Directories
from plans.screening import names_person

MAX_NOTE = 10_000
MAX_REASON = 300
# Audit rows whose sealed note is the reason for a read, not a note about the person.
_READS = ("notes-read", "person-read")


@dataclass(frozen=True)
class Note:
    """One note as read back: when, by whom, with which action (a note of its own, or the
    note given with a consent, a check-in, a step or an ending)."""

    at: datetime
    by: str
    action: str
    text: str


def write_note(
    store: Store, directories: Directories, *, code: str, text: str, by: str, now: datetime
) -> None:
    """Seal a note into the case's record, as `by`'s (her role on the case is checked)."""
    code = canonical_code(store, code)
    text = text.strip()
    if not text or len(text) > MAX_NOTE:
        raise FieldRefused("note", f"1 to {MAX_NOTE} characters of text")
    guard_case(store, directories, code=code, by=by, doing="write a note", now=now)
    with store.session() as session:
        person = read_person(store.sealer, get_case_row(session, code=code))
    if person is not None and names_person(text, person):  # security.md rule 7: screened
        record_refusal(
            store, code=code, by=by, doing="write a note", why="note-names-person", now=now
        )
        raise PersonNamed(code, "the note")
    with store.session() as session:
        audit(
            session,
            sealer=store.sealer,
            case_code=code,
            actor=by,
            action="note",
            now=now,
            detail={"length": len(text)},
            note=text,
        )


def read_notes(
    store: Store, directories: Directories, *, code: str, reason: str, by: str, now: datetime
) -> list[Note]:
    """Every note of the case, oldest first, unsealed for this one read, which is audited with
    its reason; a reason that names the person is refused (the audit log must not)."""
    code = canonical_code(store, code)
    reason = " ".join(reason.split())
    if not reason or len(reason) > MAX_REASON:
        raise FieldRefused("reason", f"why you read the notes, 1 to {MAX_REASON} characters")
    guard_case(store, directories, code=code, by=by, doing="read the notes", now=now)
    with store.session() as session:
        person = read_person(store.sealer, get_case_row(session, code=code))
    if person is not None and names_person(reason, person):
        record_refusal(
            store, code=code, by=by, doing="read the notes", why="reason-names-person", now=now
        )
        raise ReasonNamesPerson(code)
    with store.session() as session:
        rows = session.execute(
            select(AuditRow.at, AuditRow.actor, AuditRow.action, AuditRow.note_sealed)
            .where(
                AuditRow.case_code == code,
                AuditRow.note_sealed.is_not(None),
                AuditRow.action.not_in(_READS),
            )
            .order_by(AuditRow.id)
        ).all()
        notes = [
            Note(at, actor, action, store.sealer.open(sealed, case=code))
            for at, actor, action, sealed in rows
            if sealed is not None
        ]
        audit(
            session,
            sealer=store.sealer,
            case_code=code,
            actor=by,
            action="notes-read",
            now=now,
            detail={"reason": reason, "notes": len(notes)},
        )
    return notes
