"""Ending a case for a reason (`rehab case close`, and the door's case page): the case's
manager, its supervisor or a director closes a living case because the person moved away, lost
contact, was transferred, died, or met the plan's goals (casework/domain/closing.py)."""

from __future__ import annotations

from datetime import datetime

from casework.domain import closing
from casework.domain.errors import PersonNamed
from casework.services.recording import person_change
from casework.services.unit_of_work import Changed, canonical_code, guard, record_refusal
from casework.store.db import Store
from casework.store.repository import get_case_row, read_person
from plans.directories import Directories
from plans.screening import names_person

ACTION = "case-closed"  # the audit row's action; the report counts closings by it
DOING = "close the case"


def close_case(
    store: Store,
    directories: Directories,
    *,
    code: str,
    reason: str,
    to: str | None,
    by: str,
    now: datetime,
    note: str | None = None,
) -> Changed:
    """Close a living case for `reason` (one of CLOSE_REASONS; `to`, the organisation, for
    `transferred` alone): its open and waiting steps cancelled, their partners told, its
    pending messages withdrawn; the case completed (`goals-met`) or cancelled. One audit row
    `case-closed` with its reason, the organisation in its sealed note; a refusal is audited
    too."""
    code = canonical_code(store, code)
    name = closing.check_closing(code, reason, to)
    if name is not None:  # where she went must not name her (its refusal audited)
        with store.session() as session:
            row = get_case_row(session, code=code)
            person, manager, supervisor = (
                read_person(store.sealer, row),
                row.manager,
                row.supervisor,
            )
        # Her role first: whether a guess names the person is told only to the case's staff.
        guard(
            store,
            directories,
            by=by,
            power="act",
            doing=DOING,
            code=code,
            manager=manager,
            supervisor=supervisor,
            now=now,
        )
        if person is not None and names_person(name, person):
            record_refusal(store, code=code, by=by, doing=DOING, why="to-names-person", now=now)
            raise PersonNamed(code, "--to")
    with person_change(
        store,
        directories,
        code,
        by=by,
        power="act",
        doing=DOING,
        action=ACTION,
        now=now,
        # Where she went is sealed with the case's key, so a purge leaves no trace of it in
        # the audit log (security.md rule 9); the row says only that there was a transfer.
        note=_sealed_note(name, note),
        detail={"reason": reason, "to": "(sealed)" if name else None},
    ) as work:
        work.events += closing.close(work.case, reason, name, now)
    return work.changed


def _sealed_note(to: str | None, note: str | None) -> str | None:
    """The audit row's sealed note: the organisation she was transferred to, and the note."""
    parts = ([f"transferred to: {to}"] if to else []) + ([note] if note else [])
    return "\n".join(parts) or None
