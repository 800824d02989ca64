"""Refusing someone who may not act on a case (security.md rule 3): the case's manager and
supervisor read from the store, her role from the directory as it is now, a refusal audited."""

from __future__ import annotations

from datetime import datetime

from casework.domain.access import Power
from casework.services.unit_of_work import guard
from casework.store.db import Store
from casework.store.repository import get_case_row
from plans.directories import Directories


def guard_case(
    store: Store,
    directories: Directories,
    *,
    code: str,
    by: str,
    doing: str,
    now: datetime,
    power: Power = "act",
) -> None:
    """Refuse `by` (NotAllowed or UnknownStaff, audited) unless she may `doing` on the case."""
    with store.session() as session:
        row = get_case_row(session, code=code)
        manager, supervisor = row.manager, row.supervisor
    guard(
        store,
        directories,
        by=by,
        power=power,
        doing=doing,
        code=code,
        manager=manager,
        supervisor=supervisor,
        now=now,
    )
