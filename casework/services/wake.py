"""A wake's one read of the case: the engine's change (services/engine.py) and, in the same
transaction, all that its Prefect side needs afterwards (the decisions to open or tell, what
waits on whom, the status the run's artifacts show), so nothing reads the case again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from casework.domain.access import supervisor_now
from casework.domain.case import Case
from casework.services.engine import time_passes
from casework.services.unit_of_work import CaseChange, Changed, changed_row
from casework.store import decisions, queries
from casework.store.case_mapping import to_domain
from casework.store.db import Store
from casework.store.decisions import Decision
from casework.store.repository import find_case_rows, get_case_row
from casework.store.tables import CaseRow
from plans.directories import Directories


@dataclass(frozen=True)
class Woken:
    """The case after a wake (or as it stands), as its run's labels, artifacts and decision
    forms need it. `case` and `status` are None for a case set aside whose rows alone were
    read (its plan may be what is broken)."""

    changed: Changed
    case_id: int
    episode: int
    manager: str
    stored_supervisor: str
    supervisor: str  # as the directory stands now
    template: str | None
    case: Case | None
    status: dict[str, Any] | None
    waiting: tuple[Decision, ...] = ()  # decisions waiting on a person
    to_tend: tuple[Decision, ...] = ()  # decision runs to open, or to tell (synced in the wake)

    @property
    def code(self) -> str:
        """The case's code as stored."""
        return self.changed.code


def _view(
    session: Session,
    *,
    row: CaseRow,
    case: Case,
    changed: Changed,
    directories: Directories | None,
    to_tend: list[Decision],
    waiting: list[Decision],
) -> Woken:
    supervisor = (
        row.supervisor if directories is None else supervisor_now(directories, row.supervisor)
    )
    return Woken(
        changed,
        row.id,
        row.episode,
        row.manager,
        row.supervisor,
        supervisor,
        row.template,
        case,
        queries.status_in(session, row, case),
        tuple(waiting),
        tuple(to_tend),
    )


def wake(
    store: Store, *, code: str, now: datetime, directories: Directories | None = None
) -> Woken:
    """Reconcile the case (services/engine.py) and, before it commits, sync its decisions
    (while it has a flow run and is not set aside, as its follow-up would) and read its view."""
    with CaseChange(store, code, now=now, directories=directories, queue_reminders=True) as work:
        time_passes(work)
        changed = work.write()
        row = work.row
        if row.quarantine_reason is not None:  # shown from its row: no decisions are opened
            return _set_aside(row, changed)
        to_tend: list[Decision] = []
        if row.flow_run_id is not None:
            to_tend, waiting = decisions.sync_in(work.session, case=row, domain=work.case, now=now)
        else:
            waiting = decisions.waiting_in(work.session, case=row)
        return _view(
            work.session,
            row=row,
            case=work.case,
            changed=changed,
            directories=directories,
            to_tend=to_tend,
            waiting=waiting,
        )


def seen(store: Store, *, code: str, directories: Directories | None = None) -> Woken:
    """The case as it stands, read once, changing nothing (a run shown afresh)."""
    with store.session() as session:
        return _seen(session, get_case_row(session, code=code), directories)


def seen_many(
    store: Store, *, codes: list[str], directories: Directories | None = None
) -> dict[str, Woken]:
    """`seen` for many cases by their codes as stored (a bulk launch's new runs), their rows
    read together; a code without a case (or one erased) is missing there."""
    with store.session() as session:
        rows = find_case_rows(session, codes=codes)
        return {
            code: _seen(session, row, directories)
            for code, row in rows.items()
            if row.purged_at is None
        }


def _seen(session: Session, row: CaseRow, directories: Directories | None) -> Woken:
    changed = changed_row(row, [])
    waiting = decisions.waiting_in(session, case=row)
    if row.quarantine_reason is not None:  # its rows' status: its plan may not load
        return _set_aside(row, changed, queries.status_in(session, row), waiting)
    return _view(
        session,
        row=row,
        case=to_domain(row),
        changed=changed,
        directories=directories,
        to_tend=[],
        waiting=waiting,
    )


def set_aside(store: Store, *, code: str) -> Woken:
    """A case the engine has just set aside, from its row alone (its plan may be broken)."""
    with store.session() as session:
        row = session.scalars(select(CaseRow).where(CaseRow.code == code)).one()
        return _set_aside(row, changed_row(row, []))


def _set_aside(
    row: CaseRow,
    changed: Changed,
    status: dict[str, Any] | None = None,
    waiting: list[Decision] | None = None,
) -> Woken:
    return Woken(
        changed,
        row.id,
        row.episode,
        row.manager,
        row.supervisor,
        row.supervisor,
        row.template,
        None,
        status,
        tuple(waiting or ()),
    )
