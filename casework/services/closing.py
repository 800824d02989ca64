"""Ending a case for a reason (`rehab case close`, and the door's case page): the case's
manager, its supervisor or a director closes a living case because the person moved away, lost
contact, was transferred, died, or met the plan's goals (casework/domain/closing.py)."""

from __future__ import annotations

from datetime import datetime

from casework.domain import closing
from casework.domain.errors import PersonNamed
from casework.services.recording import person_change
from casework.services.unit_of_work import Changed, canonical_code, record_refusal
from casework.store.db import Store
from casework.store.repository import read_person
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
    `case-closed` with {reason, to}; a refusal is audited too."""
    code = canonical_code(store, code)
    name = closing.check_closing(code, reason, to)
    try:
        with person_change(
            store,
            directories,
            code,
            by=by,
            power="act",
            doing=DOING,
            action=ACTION,
            now=now,
            note=note,
            detail={"reason": reason, "to": name},
        ) as work:
            person = read_person(store.sealer, work.row)
            if name is not None and person is not None and names_person(name, person):
                raise PersonNamed(code, "--to")
            work.events += closing.close(work.case, reason, name, now)
    except PersonNamed as refused:
        if refused.field == "--to":  # the note's own refusal is audited by person_change
            record_refusal(store, code=code, by=by, doing=DOING, why="to-names-person", now=now)
        raise
    return work.changed
