"""One change to one case, in one transaction: the unit of work every service makes its change
in, the result it returns, and what every service shares (the case code as stored, retries of
a change a racing one refused, the refusals audited)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Any, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from casework.domain.access import Power, authorize, supervisor_now
from casework.domain.case import Case
from casework.domain.errors import NotAllowed, UnknownStaff
from casework.domain.events import Event
from casework.domain.notices import Notice, notices_for, upcoming_reminders
from casework.domain.step_events import StepStarted
from casework.store.audit_rows import audit
from casework.store.case_mapping import save_domain, to_domain
from casework.store.case_marks import lift_quarantine, make_due
from casework.store.codes import stored_code
from casework.store.db import Store
from casework.store.errors import Conflict
from casework.store.outbox_rows import queue_notices
from casework.store.repository import get_case_row, hold_case
from casework.store.tables import CaseRow
from casework.store.withdrawal import told_of_withdrawal, withdraw_stale_messages
from plans.directories import Directories
from plans.model import Plan

T = TypeVar("T")

ENGINE = "engine"


@dataclass(frozen=True)
class Changed:
    """What a change did: the case's state after it, when it next wakes, what happened."""

    code: str
    state: str
    events: tuple[Event, ...]
    wake_at: datetime | None
    revision: int
    flow_run_id: str | None
    quarantined: str | None = None  # why the engine set the case aside (services/quarantine.py)


def changed_row(row: CaseRow, events: list[Event]) -> Changed:
    """The change's result as the case's row stands after it."""
    return Changed(
        row.code,
        row.state,
        tuple(events),
        row.wake_at,
        row.revision,
        row.flow_run_id,
        row.quarantine_reason,
    )


@contextmanager
def transaction(store: Store, code: str) -> Iterator[Session]:
    """A session holding the case (a racing change to it waits, `hold_case`); a commit a racing
    change refused all the same (a row it did not hold) is a Conflict (try again)."""
    try:
        with store.session() as session:
            hold_case(session, code=code)
            yield session
    except (StaleDataError, IntegrityError) as exc:
        raise Conflict(code) from exc


def canonical_code(store: Store, code: str) -> str:
    """The case's code as stored, however the letters of `code` were typed (contract v3):
    every service takes it so, so audit rows, messages and runs carry one spelling."""
    with store.session() as session:
        return stored_code(session, code)


def with_stored_code(store: Store, plan: Plan) -> Plan:
    """The plan naming its case as the store spells it: `bc-2026-0042` launched when
    `BC-2026-0042` exists is that case, never a second one."""
    code = canonical_code(store, plan.case)
    return plan if code == plan.case else plan.model_copy(update={"case": code})


def retry_on_conflict(change: Callable[[], T], attempts: int = 5) -> T:
    """Make a change that a racing transaction refused again: each attempt reads afresh."""
    for _ in range(attempts - 1):
        try:
            return change()
        except Conflict:
            continue
    return change()


def notices_of(
    events: list[Event], case: Case, supervisor: str, earlier: Plan | None = None
) -> list[Notice]:
    """The messages the events cause, to the people holding the case's roles."""
    return [n for e in events for n in notices_for(e, case, supervisor, earlier=earlier)]


def told_supervisor(directories: Directories | None, row: CaseRow) -> str:
    """Whom the supervisor's messages go to: the one the directory gives the case now (the
    stored one only while her role allows it). Without directories (tests, benchmarks), the
    stored one."""
    return row.supervisor if directories is None else supervisor_now(directories, row.supervisor)


@dataclass
class _AuditEntry:
    actor: str
    action: str
    detail: dict[str, Any] | None
    note: str | None


@dataclass
class CaseChange:
    """The unit of work of one change to one case. Entered, it opens the transaction and loads
    the case's row (its version guards races) and domain `case`; the change appends its
    `events` and `audit` rows. Left without an error, it withdraws the messages whose reason
    the change took away (with `new_schedule`, the future reminders the new plan no longer
    has), saves the case, writes the audit rows, queues the messages the events cause (with
    `queue_reminders`, the next check-ins' reminders too, placed around the partners' quiet
    hours) to the people `directories` says hold the case's roles now, and commits; a racing
    change makes it a Conflict. Its result is `changed`."""

    store: Store
    code: str
    now: datetime
    directories: Directories | None
    new_schedule: bool = False
    queue_reminders: bool = False
    due_now: bool = False  # a person's change: the plan looks at the case at once
    wake_by: datetime | None = None  # the engine looks at the case again by then at the latest
    events: list[Event] = field(default_factory=list)
    _audits: list[_AuditEntry] = field(default_factory=list)
    _stack: ExitStack = field(default_factory=ExitStack)
    _finished: Changed | None = None

    def __enter__(self) -> CaseChange:
        self.session = self._stack.enter_context(transaction(self.store, self.code))
        try:
            self.row = get_case_row(self.session, code=self.code)
            self.case = to_domain(self.row)
        except BaseException:
            self._stack.__exit__(*sys.exc_info())
            raise
        self.earlier = self.case.plan  # an amendment replaces it; removed steps' partners hear
        return self

    def audit(
        self,
        action: str,
        *,
        actor: str,
        detail: dict[str, Any] | None = None,
        note: str | None = None,
    ) -> None:
        """An audit row of the change, written once the case is saved."""
        self._audits.append(_AuditEntry(actor, action, detail, note))

    @property
    def changed(self) -> Changed:
        """The change's result (once written)."""
        if self._finished is None:
            raise RuntimeError("the change is not written yet")
        return self._finished

    def write(self) -> Changed:
        """Write the change in the transaction (left open, for reads that follow it)."""
        if self._finished is None:
            self._finished = self._write()
        return self._finished

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if kind is not None:  # the change failed: nothing of it is written
            self._stack.__exit__(kind, exc, tb)
            return
        try:
            self.write()
        except BaseException:
            self._stack.__exit__(*sys.exc_info())
            raise
        self._stack.close()  # commits; a racing change makes it a Conflict

    def _write(self) -> Changed:
        session, row, case, now = self.session, self.row, self.case, self.now
        if case.ended:  # nothing more to tend: an ended case is never set aside
            lift_quarantine(
                session,
                sealer=self.store.sealer,
                row=row,
                by=ENGINE,
                why=f"plan {case.state}",
                now=now,
            )
        for event in self.events:
            if isinstance(event, StepStarted):  # its referral is queued below
                case.steps[event.step_id].referral = "pending"
        # A case set aside gets no reminders: its schedule is what could not be tended.
        reminders = upcoming_reminders(case, self.directories) if row.quarantined_at is None else []
        unheard = withdraw_stale_messages(
            session,
            case=case,
            now=now,
            schedule=({n.key for n in reminders} if self.new_schedule else None),
        )
        save_domain(session, row=row, case=case, now=now)
        if self.due_now:
            make_due(row=row, at=now)
        if self.wake_by is not None:  # save_domain set wake_at from the case alone
            make_due(row=row, at=self.wake_by, only_sooner=True)
        for entry in self._audits:
            audit(
                session,
                sealer=self.store.sealer,
                case_code=row.code,
                actor=entry.actor,
                action=entry.action,
                now=now,
                detail=entry.detail,
                note=entry.note,
            )
        supervisor = told_supervisor(self.directories, row)
        notices = [
            n
            for n in notices_of(self.events, case, supervisor, self.earlier)
            if not (n.kind == "step-cancelled" and n.step in unheard)
        ]
        # A referral withdrawn because its step ran its time is never silent: the manager hears.
        notices += [
            told_of_withdrawal(row.code, row.manager, row.episode, step, now)
            for step in sorted(unheard)
            if case.steps[step].state == "completed"
        ]
        extra = reminders if self.queue_reminders else []
        queue_notices(session, notices=notices + extra, now=now)
        return changed_row(row, self.events)


def guard(
    store: Store,
    directories: Directories,
    *,
    by: str,
    power: Power,
    doing: str,
    code: str,
    manager: str,
    supervisor: str,
    now: datetime,
) -> None:
    """Refuse a person who may not do this to the case; the refusal is audited."""
    try:
        authorize(
            directories,
            by=by,
            power=power,
            action=doing,
            code=code,
            manager=manager,
            supervisor=supervisor,
        )
    except (UnknownStaff, NotAllowed) as exc:
        record_refusal(store, code=code, by=by, doing=doing, why=exc.as_data()["error"], now=now)
        raise


def record_refusal(
    store: Store, *, code: str, by: str, doing: str, why: str, now: datetime
) -> None:
    """An attempt that was refused, in the audit log: who, what, why (never personal data)."""
    with store.session() as session:
        audit(
            session,
            sealer=store.sealer,
            case_code=code,
            actor=by,
            action="refused",
            now=now,
            detail={"doing": doing, "why": why},
        )
