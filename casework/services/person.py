"""The person's data has one home, the sealed case store (security.md rule 7): written and read
only through here, every read audited with who and why."""

from __future__ import annotations

from datetime import datetime

from casework.domain.errors import PersonNamed, ReasonNamesPerson
from casework.services.case_guard import guard_case
from casework.services.errors import FieldRefused
from casework.services.notes import MAX_REASON
from casework.services.unit_of_work import canonical_code, record_refusal, transaction
from casework.store.audit_rows import audit
from casework.store.db import Store
from casework.store.repository import current_plan, get_case_row, has_plan, read_person, set_person
from plans.directories import Directories
from plans.model import Person
from plans.screening import names_person, screen


def held_fields(person: Person | None) -> list[str]:
    """Which fields hold something (never what)."""
    if person is None:
        return []
    return sorted(k for k, v in person.model_dump().items() if v not in (None, [], "unknown"))


def store_person(
    store: Store,
    directories: Directories,
    *,
    code: str,
    person: Person,
    by: str | None,
    now: datetime,
) -> None:
    """Seal the person's data into the case (replacing what was there); audited, without it.
    `by`: on whose behalf the operator acts (roles apply), else the operator."""
    code = canonical_code(store, code)
    if by is not None:
        guard_case(store, directories, code=code, by=by, doing="set the person's data", now=now)
    with transaction(store, code) as session:  # the clock may be tending the case: it waits
        row = get_case_row(session, code=code)
        named = screen(current_plan(row), person) if has_plan(row) else []
        if named:  # what partners and Prefect already see must not name her
            raise PersonNamed(code, named[0])
        set_person(row=row, sealer=store.sealer, person=person)
        audit(
            session,
            sealer=store.sealer,
            case_code=code,
            actor=by or "operator",
            action="person-set",
            now=now,
            detail={"fields": held_fields(person)},
        )


def show_person(
    store: Store, directories: Directories, *, code: str, reason: str, by: str | None, now: datetime
) -> Person | None:
    """The person's data, unsealed for this one read, which is audited: who, when, why. A
    reason that names the person is refused (the audit log must not)."""
    code = canonical_code(store, code)
    reason = " ".join(reason.split())
    if not reason or len(reason) > MAX_REASON:  # every read says why, whoever asks (rule 7)
        raise FieldRefused("reason", f"why you read her data, 1 to {MAX_REASON} characters")
    if by is not None:
        guard_case(store, directories, code=code, by=by, doing="read the person's data", now=now)
    with store.session() as session:
        person = read_person(store.sealer, get_case_row(session, code=code))
    if person is not None and names_person(reason, person):
        record_refusal(
            store,
            code=code,
            by=by or "operator",
            doing="read the person's data",
            why="reason-names-person",
            now=now,
        )
        raise ReasonNamesPerson(code)
    with store.session() as session:
        audit(
            session,
            sealer=store.sealer,
            case_code=code,
            actor=by or "operator",
            action="person-read",
            now=now,
            detail={"reason": reason, "fields": held_fields(person)},
        )
    return person
