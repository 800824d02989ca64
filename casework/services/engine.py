"""The engine's own changes to a case: what time made due (a wake), which flow run carries
it, and when it looks at the case again."""

from __future__ import annotations

from datetime import datetime, timedelta

from casework.domain.partner_answers import next_unanswered, unanswered
from casework.domain.step_events import StepStarted
from casework.domain.time_passes import advance
from casework.services.unit_of_work import (
    ENGINE,
    CaseChange,
    Changed,
    retry_on_conflict,
    transaction,
)
from casework.store.case_marks import (
    count_wake,
    make_due,
    mark_due_by,
    record_flow_run,
    record_flow_runs,
)
from casework.store.db import Store
from casework.store.repository import get_case_row
from plans.directories import Directories


def reconcile(
    store: Store, *, code: str, now: datetime, directories: Directories | None = None
) -> Changed:
    """The engine's work on a wake: apply what time made due, queue the messages it causes
    (the supervisor's to whom `directories` names now; reminders placed around the partners'
    quiet hours)."""
    with CaseChange(store, code, now=now, directories=directories, queue_reminders=True) as work:
        time_passes(work)
    return work.changed


def time_passes(work: CaseChange) -> None:
    """Apply to the case what time made due by the change's `now`, and the referrals left
    unanswered past their partner's `acknowledge_within`; one audit row per event."""
    if work.row.quarantined_at is None:  # set aside until a person acts: time does nothing
        count_wake(row=work.row)
        events = advance(work.case, work.now)
        for event in events:
            if isinstance(event, StepStarted):  # as the change marks it: its referral is queued
                work.case.steps[event.step_id].referral = "pending"
        within = answer_windows(work.directories)
        events += unanswered(work.case, within, work.now)
        work.wake_by = next_unanswered(work.case, within)  # the clock comes back then
        work.events += events
    for e in work.events:
        work.audit(e.kind, actor=ENGINE, detail=e.facts())


def answer_windows(directories: Directories | None) -> dict[str, timedelta]:
    """How long each partner has to answer a referral (`acknowledge_within`)."""
    if directories is None:
        return {}
    return {pid: p.acknowledge_within for pid, p in directories.partners.partners.items()}


def set_flow_run(store: Store, *, code: str, flow_run_id: str, now: datetime) -> None:
    """Remember which Prefect flow run carries the case's current episode. The clock may be
    reconciling the case at the same moment; this write does not depend on it, so it is
    simply made again."""

    def write() -> None:
        with transaction(store, code) as session:
            record_flow_run(row=get_case_row(session, code=code), flow_run_id=flow_run_id, now=now)

    retry_on_conflict(write)


def set_flow_runs(store: Store, *, runs: dict[str, str], now: datetime) -> None:
    """`set_flow_run` for many cases (stored code -> run id, a bulk launch's), in one
    transaction: a row each is written, none read; one the clock is reconciling is written
    when that wake commits (it holds the case)."""
    with store.session() as session:
        record_flow_runs(session, runs=runs, now=now)


def look_again(store: Store, *, code: str, at: datetime) -> None:
    """Make the case due again by `at` (never later than it already is): what the engine
    could not finish is tried again."""

    def write() -> None:
        with transaction(store, code) as session:
            make_due(row=get_case_row(session, code=code), at=at, only_sooner=True)

    retry_on_conflict(write)


def look_again_at_all(store: Store, *, codes: set[str], at: datetime) -> None:
    """Make these cases due by `at` (never later than they are), in one statement: their runs
    are shown afresh at the clock's next tick. A reconcile racing it may set a case's wake
    time back; then it is shown afresh at its own next wake."""
    with store.session() as session:
        mark_due_by(session, codes=codes, at=at)
