"""The service layer: each function is one change to one case, in one transaction."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from casework.domain import transitions
from casework.domain.access import Power, authorize, supervisor_now
from casework.domain.case import ENDED_CASE, IMPORTED, Case, ConsentStatus, RecordedOutcome
from casework.domain.decision_kinds import amendment_scope, check_in_scope
from casework.domain.errors import (
    CaseAlreadyActive,
    NotAllowed,
    PersonNamed,
    UnknownScope,
    UnknownStaff,
)
from casework.domain.events import ApprovalRequested, Event, PlanLaunched, StepStarted
from casework.domain.notices import Notice, notices_for, upcoming_reminders
from casework.domain.partner_answers import next_unanswered, unanswered
from casework.domain.time_passes import advance
from casework.store.codes import lock_code, stored_code
from casework.store.db import Store
from casework.store.decisions import record_decision
from casework.store.errors import CasePurged, Conflict
from casework.store.repository import (
    add_consent,
    add_revision,
    audit,
    count_wake,
    create_case_row,
    find_case_row,
    get_case_row,
    lift_quarantine,
    make_due,
    queue_notices,
    read_person,
    record_flow_run,
    save_domain,
    set_person,
    start_episode,
    to_domain,
)
from casework.store.tables import CaseRow
from casework.store.withdrawal import told_of_withdrawal, withdraw_stale_messages
from plans.directories import Directories
from plans.model import Person, Plan
from plans.screening import names_person, screen

__all__ = ["Outcome"]

T = TypeVar("T")

ENGINE = "engine"


@dataclass(frozen=True)
class Outcome:
    """What a change did: the case's state after it, when it next wakes, what happened."""

    code: str
    state: str
    events: tuple[Event, ...]
    wake_at: datetime | None
    revision: int
    flow_run_id: str | None
    quarantined: str | None = None  # why the engine set the case aside (services/quarantine.py)


@contextmanager
def transaction(store: Store, code: str) -> Iterator[Session]:
    """A session whose commit a racing change to the case refused is a Conflict (try again)."""
    try:
        with store.session() as session:
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


def _notices(
    events: list[Event], case: Case, supervisor: str, earlier: Plan | None = None
) -> list[Notice]:
    return [n for e in events for n in notices_for(e, case, supervisor, earlier=earlier)]


def _told_supervisor(directories: Directories | None, row: CaseRow) -> str:
    """Whom the supervisor's messages go to: the one the directory gives the case now (the
    stored one only while her role allows it). Without directories (tests, benchmarks), the
    stored one."""
    return row.supervisor if directories is None else supervisor_now(directories, row.supervisor)


def _outcome(row: CaseRow, events: list[Event]) -> Outcome:
    return Outcome(
        row.code,
        row.state,
        tuple(events),
        row.wake_at,
        row.revision,
        row.flow_run_id,
        row.quarantine_reason,
    )


def _audit_events(
    session: Session, store: Store, row: CaseRow, events: list[Event], *, actor: str, now: datetime
) -> None:
    for e in events:
        audit(
            session,
            sealer=store.sealer,
            case_code=row.code,
            actor=actor,
            action=e.kind,
            now=now,
            detail=e.facts(),
        )


def _refuse_naming(plan: Plan, person: Person | None) -> None:
    """A step title or id naming the person would reach partners and Prefect: refused."""
    named = screen(plan, person)
    if named:
        raise PersonNamed(plan.case, named[0])


def launch(
    store: Store,
    directories: Directories,
    *,
    plan: Plan,
    by: str,
    now: datetime,
    approval_required: bool,
) -> Outcome:
    """Record a new plan (or relaunch an ended case as a new episode)."""
    plan = with_stored_code(store, plan)
    supervisor = directories.supervisor_of(plan) or ""
    with store.session() as session:
        known = find_case_row(session, code=plan.case)
        if known is not None and known.purged_at is not None:
            raise CasePurged(plan.case, f"{known.purged_at:%Y-%m-%d}")
        stored = None if known is None else (known.manager, known.supervisor)
    if stored is not None:
        # A relaunch is the case's own: judged by the roles it has, not those the file names;
        # naming other people takes its supervisor (or a director).
        guard(
            store,
            directories,
            by=by,
            power="act" if stored == (plan.manager, supervisor) else "approve",
            doing="relaunch the case"
            if stored == (plan.manager, supervisor)
            else "relaunch the case with another manager or supervisor",
            code=plan.case,
            manager=stored[0],
            supervisor=stored[1],
            now=now,
        )
    guard(
        store,
        directories,
        by=by,
        power="act",
        doing="launch the plan",
        code=plan.case,
        manager=plan.manager,
        supervisor=supervisor,
        now=now,
    )
    with transaction(store, plan.case) as session:
        lock_code(session, plan.case)  # one case per code, however its letters are typed
        row = find_case_row(session, code=plan.case)
        if row is not None and row.purged_at is not None:
            raise CasePurged(plan.case, f"{row.purged_at:%Y-%m-%d}")
        relaunch_of = None if row is None else row.state
        # An imported case still open has no plan in rehab yet: its launch is its first here.
        if row is not None and relaunch_of not in (*ENDED_CASE, IMPORTED):
            raise CaseAlreadyActive(plan.case, row.state)
        _refuse_naming(plan, plan.person or (read_person(store.sealer, row) if row else None))
        # A case ended for a breach comes back only with a supervisor's approval.
        needs_approval = approval_required or relaunch_of == "terminated"
        case = Case.new(plan, plan.start_utc(now), approval_required=needs_approval)
        if row is None:
            row = create_case_row(
                session,
                sealer=store.sealer,
                plan=plan,
                supervisor=supervisor,
                case=case,
                by=by,
                now=now,
            )
            session.flush()
        else:
            start_episode(
                row=row,
                sealer=store.sealer,
                plan=plan,
                supervisor=supervisor,
                start=case.start,
                by=by,
                now=now,
            )
        events: list[Event] = [PlanLaunched(now, row.episode)]
        if case.state == "awaiting-approval":
            events.append(ApprovalRequested(now, row.episode))
        save_domain(session, row=row, case=case, now=now)
        make_due(row=row, at=now)  # its flow run must start (the clock makes sure)
        detail = {"episode": row.episode, "relaunch_of": relaunch_of} if relaunch_of else {}
        audit(
            session,
            sealer=store.sealer,
            case_code=row.code,
            actor=by,
            action="launch",
            now=now,
            detail=detail,
        )
        notices = _notices(events, case, _told_supervisor(directories, row))
        queue_notices(session, notices=notices, now=now)
        return _outcome(row, events)


Apply = Callable[[Session, CaseRow, Case], list[Event]]
Record = Callable[[Session, CaseRow, list[Event]], None]


def _change(
    store: Store,
    code: str,
    *,
    now: datetime,
    apply: Apply,
    record: Record,
    queue_reminders: bool,
    new_schedule: bool,
    directories: Directories | None,
) -> Outcome:
    """One change to one case: `apply` it to the domain case, withdraw the messages whose
    reason it took away (with `new_schedule`, the future reminders the new plan no longer
    has), save it, `record` it in the audit log, and queue the messages it causes (with
    `queue_reminders`, the next check-ins' reminders too, placed around the partners' quiet
    hours) to the people `directories` says hold the case's roles now."""
    with transaction(store, code) as session:
        row = get_case_row(session, code=code)
        case = to_domain(row)
        earlier = case.plan  # an amendment replaces it; its removed steps' partners are told
        events = apply(session, row, case)
        if case.ended:  # nothing more to tend: an ended case is never set aside
            lift_quarantine(
                session, sealer=store.sealer, row=row, by=ENGINE, why=f"plan {case.state}", now=now
            )
        for event in events:
            if isinstance(event, StepStarted):  # its referral is queued below
                case.steps[event.step_id].referral = "pending"
        # A case set aside gets no reminders: its schedule is what could not be tended.
        reminders = upcoming_reminders(case, directories) if row.quarantined_at is None else []
        unheard = withdraw_stale_messages(
            session,
            case=case,
            now=now,
            schedule=({n.key for n in reminders} if new_schedule else None),
        )
        save_domain(session, row=row, case=case, now=now)
        record(session, row, events)
        notices = [
            n
            for n in _notices(events, case, _told_supervisor(directories, row), earlier)
            if not (n.kind == "step-cancelled" and n.step in unheard)
        ]
        # A referral withdrawn because its step ran its time is never silent: the manager hears.
        notices += [
            told_of_withdrawal(code, row.manager, row.episode, step, now)
            for step in sorted(unheard)
            if case.steps[step].state == "completed"
        ]
        queue_notices(session, notices=notices + (reminders if queue_reminders else []), now=now)
        return _outcome(row, events)


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


def _by_person(
    store: Store,
    directories: Directories,
    code: str,
    *,
    by: str,
    power: Power,
    doing: str,
    action: str,
    now: datetime,
    apply: Apply,
    note: str | None = None,
    detail: dict[str, str] | None = None,
    new_schedule: bool = False,
) -> Outcome:
    """A person's change, if their role allows it (`power`, `doing` naming it): one audit row
    naming them; the plan looks at the case at once."""
    with store.session() as session:
        row = get_case_row(session, code=code)
        code = row.code  # as stored, however it was typed
        manager, supervisor = row.manager, row.supervisor
        person = read_person(store.sealer, row)
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

    if note is not None and person is not None and names_person(note, person):
        record_refusal(store, code=code, by=by, doing=doing, why="note-names-person", now=now)
        raise PersonNamed(code, "the note")

    def record(session: Session, row: CaseRow, events: list[Event]) -> None:
        make_due(row=row, at=now)
        audit(
            session,
            sealer=store.sealer,
            case_code=code,
            actor=by,
            action=action,
            now=now,
            detail=detail,
            note=note,
        )

    return _change(
        store,
        code,
        now=now,
        apply=apply,
        record=record,
        queue_reminders=False,
        new_schedule=new_schedule,
        directories=directories,
    )


def approve(
    store: Store,
    directories: Directories,
    *,
    code: str,
    by: str,
    now: datetime,
    comment: str | None = None,
) -> Outcome:
    """The case's supervisor (or a director) approves what waits for approval: the plan, or
    the steps and partners its amendments added."""

    def apply(session: Session, row: CaseRow, case: Case) -> list[Event]:
        if case.state == "awaiting-approval":
            events = transitions.approve(case, now)
            kind, scope = "approval", ""
        else:
            events = transitions.approve_amendment(case, now)
            kind, scope = "amendment", amendment_scope(row.revision)
        record_decision(
            session, case=row, kind=kind, scope=scope, decision="approved", by=by, now=now
        )
        return events

    return _by_person(
        store,
        directories,
        code,
        by=by,
        power="approve",
        doing="approve the plan",
        action="approve",
        now=now,
        note=comment,
        apply=apply,
    )


def record_consent(
    store: Store,
    directories: Directories,
    *,
    code: str,
    scopes: list[str],
    status: ConsentStatus,
    by: str,
    now: datetime,
    note: str | None = None,
) -> Outcome:
    """Record consent given, refused or withdrawn for some scopes."""

    def apply(session: Session, row: CaseRow, case: Case) -> list[Event]:
        # A plan launched before scopes were checked may need one the programme no longer
        # knows: its consent can still be recorded and withdrawn.
        known = directories.staff.known_scopes()
        for scope in scopes:
            if scope not in known and scope not in case.plan.recordable_scopes:
                raise UnknownScope(case.code, scope, known, directories.staff_file)
        events = transitions.decide_consent(case, scopes, status, now)
        for scope in scopes:
            add_consent(
                session,
                sealer=store.sealer,
                row=row,
                scope=scope,
                status=status,
                by=by,
                now=now,
                note=note,
            )
            if status != "withdrawn":
                record_decision(
                    session, case=row, kind="consent", scope=scope, decision=status, by=by, now=now
                )
        return events

    return _by_person(
        store,
        directories,
        code,
        by=by,
        power="act",
        doing="record consent",
        action=f"consent-{status}",
        now=now,
        note=note,
        detail={"scopes": ",".join(scopes)},
        apply=apply,
    )


def withdraw_all(
    store: Store,
    directories: Directories,
    *,
    code: str,
    by: str,
    now: datetime,
    note: str | None = None,
) -> Outcome:
    """Consent withdrawn entirely: open steps cancelled, partners told, case cancelled."""

    def apply(session: Session, row: CaseRow, case: Case) -> list[Event]:
        scopes = transitions.withdrawn_by_all(case)
        events = transitions.withdraw_all(case, now)
        for scope in scopes:
            add_consent(
                session,
                sealer=store.sealer,
                row=row,
                scope=scope,
                status="withdrawn",
                by=by,
                now=now,
                note=note,
            )
        return events

    return _by_person(
        store,
        directories,
        code,
        by=by,
        power="act",
        doing="withdraw consent",
        action="consent-withdrawn-all",
        now=now,
        note=note,
        apply=apply,
    )


def record_check_in(
    store: Store,
    directories: Directories,
    *,
    code: str,
    step: str,
    outcome: RecordedOutcome,
    by: str,
    now: datetime,
    note: str | None = None,
    seq: int | None = None,
) -> Outcome:
    """Record the outcome of a step's check-in (`seq`: that one, as its form asks; else the
    oldest waiting); its form in the UI, if open, is then told."""

    def apply(session: Session, row: CaseRow, case: Case) -> list[Event]:
        target, events = transitions.record_outcome(case, step, outcome, by, now, seq=seq)
        record_decision(
            session,
            case=row,
            kind="check-in",
            scope=check_in_scope(step, target.seq),
            decision=outcome,
            by=by,
            now=now,
        )
        return events

    return _by_person(
        store,
        directories,
        code,
        by=by,
        power="act",
        doing="record a check-in",
        action="check-in",
        now=now,
        note=note,
        detail={"step": step, "outcome": outcome},
        apply=apply,
    )


def complete_step(
    store: Store,
    directories: Directories,
    *,
    code: str,
    step: str,
    by: str,
    now: datetime,
    note: str | None = None,
) -> Outcome:
    """Mark an open step completed (its form in the UI, if open, is then told)."""

    def apply(session: Session, row: CaseRow, case: Case) -> list[Event]:
        events = transitions.complete_step(case, step, now)
        record_decision(
            session, case=row, kind="completion", scope=step, decision="completed", by=by, now=now
        )
        return events

    return _by_person(
        store,
        directories,
        code,
        by=by,
        power="act",
        doing="complete a step",
        action="step-complete",
        now=now,
        note=note,
        detail={"step": step},
        apply=apply,
    )


def breach(
    store: Store,
    directories: Directories,
    *,
    code: str,
    rule: str,
    by: str,
    now: datetime,
    note: str | None = None,
) -> Outcome:
    """A programme rule was broken: the case is terminated."""
    return _by_person(
        store,
        directories,
        code,
        by=by,
        power="act",
        doing="report a breach",
        action="rule-breach",
        now=now,
        note=note,
        detail={"rule": rule},
        apply=lambda s, row, case: transitions.breach(case, rule, now),
    )


def amend(store: Store, directories: Directories, *, plan: Plan, by: str, now: datetime) -> Outcome:
    """Store a new revision of a running plan; it applies to what has not happened yet."""
    plan = with_stored_code(store, plan)
    supervisor = directories.supervisor_of(plan) or ""

    def apply(session: Session, row: CaseRow, case: Case) -> list[Event]:
        _refuse_naming(plan, plan.person or read_person(store.sealer, row))
        events = transitions.amend(case, plan, now, revision=row.revision + 1)
        if supervisor != row.supervisor and case.state == "awaiting-approval":
            # The new supervisor decides now: they are asked, as the first one was.
            events.append(ApprovalRequested(now, row.episode))
        add_revision(session, row=row, plan=plan, supervisor=supervisor, by=by, now=now)
        # The fix for a case the engine set aside: the next wake tries the new revision.
        lift_quarantine(session, sealer=store.sealer, row=row, by=by, why="amended", now=now)
        if plan.person is not None:
            set_person(row=row, sealer=store.sealer, person=plan.person)
        return events

    with store.session() as session:
        row = get_case_row(session, code=plan.case)
        same_people = (row.manager, row.supervisor) == (plan.manager, supervisor)
    return _by_person(
        store,
        directories,
        plan.case,
        by=by,
        # Who manages or supervises a case is changed only by its supervisor or a director.
        power="act" if same_people else "approve",
        doing="amend the plan" if same_people else "change who manages or supervises the case",
        action="amend",
        now=now,
        apply=apply,
        new_schedule=True,
    )


def reconcile(
    store: Store, *, code: str, now: datetime, directories: Directories | None = None
) -> Outcome:
    """The engine's work on a wake: apply what time made due, queue the messages it causes
    (the supervisor's to whom `directories` names now; reminders placed around the partners'
    quiet hours)."""

    within = answer_windows(directories)
    ask_again: list[datetime] = []

    def apply(session: Session, row: CaseRow, case: Case) -> list[Event]:
        if row.quarantined_at is not None:  # set aside until a person acts: time does nothing
            return []
        count_wake(row=row)
        events = advance(case, now)
        for event in events:
            if isinstance(event, StepStarted):  # as _change marks it: its referral is queued
                case.steps[event.step_id].referral = "pending"
        events += unanswered(case, within, now)
        deadline = next_unanswered(case, within)
        ask_again[:] = [] if deadline is None else [deadline]  # the clock comes back then
        return events

    def record(session: Session, row: CaseRow, events: list[Event]) -> None:
        _audit_events(session, store, row, events, actor=ENGINE, now=now)  # one row per event
        for deadline in ask_again:  # after save_domain, which set wake_at from the case alone
            make_due(row=row, at=deadline, only_sooner=True)

    return _change(
        store,
        code,
        now=now,
        apply=apply,
        record=record,
        queue_reminders=True,
        new_schedule=False,
        directories=directories,
    )


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


def look_again(store: Store, *, code: str, at: datetime) -> None:
    """Make the case due again by `at` (never later than it already is): what the engine
    could not finish is tried again."""

    def write() -> None:
        with transaction(store, code) as session:
            make_due(row=get_case_row(session, code=code), at=at, only_sooner=True)

    retry_on_conflict(write)
