"""What people do to a case: approve it, decide on consent, record outcomes, amend it, end it."""

from __future__ import annotations

from datetime import datetime

from casework.domain.case import (
    ENDED_STEP,
    Case,
    CheckIn,
    Consent,
    ConsentStatus,
    RecordedOutcome,
    StepProgress,
    end_step,
)
from casework.domain.errors import (
    CaseNotInState,
    ConsentNeverGiven,
    ConsentNotGiven,
    NoCheckIns,
    NoCheckInWaiting,
    NoSuchRule,
    NoSuchScope,
    NothingToApprove,
    PlanOfAnotherCase,
    StepNotOpen,
)
from casework.domain.events import (
    AmendmentApproved,
    AmendmentToApprove,
    ConsentRecorded,
    Event,
    PlanAmended,
    PlanApproved,
    PlanCancelled,
    PlanSentBack,
    PlanTerminated,
)
from casework.domain.step_events import (
    CheckInRecorded,
    StepAdded,
    StepCancelled,
    StepCompleted,
    StepRescheduled,
)
from plans.model import Plan


def _require_active(case: Case, doing: str) -> None:
    if case.state != "active":
        raise CaseNotInState(case.code, case.state, doing)


def approve(case: Case, now: datetime) -> list[Event]:
    """The supervisor approves a plan that awaits approval (and not sent back: it waits for
    its case manager's amendment)."""
    if case.state != "awaiting-approval":
        raise CaseNotInState(case.code, case.state, "approve it: it is not awaiting approval")
    if case.sent_back_at is not None:
        raise CaseNotInState(
            case.code, case.state, "approve it: it was sent back and waits for its amendment"
        )
    case.state, case.approved_at = "active", now
    return [PlanApproved(now)]


def send_back(case: Case, by: str, now: datetime) -> list[Event]:
    """The supervisor sends a plan awaiting approval back to its case manager: it stays
    awaiting approval, and waits for her amendment before anyone is asked again."""
    if case.state != "awaiting-approval":
        raise CaseNotInState(case.code, case.state, "send it back: it is not awaiting approval")
    if case.sent_back_at is not None:
        raise CaseNotInState(
            case.code, case.state, "send it back: it was sent back already and not amended since"
        )
    case.sent_back_by, case.sent_back_at = by, now
    return [PlanSentBack(now, by)]


def approve_amendment(case: Case, now: datetime) -> list[Event]:
    """The supervisor approves the steps and partners amendments added: they may start."""
    waiting = case.awaiting_amendment_approval
    if case.state != "active" or not waiting:
        raise NothingToApprove(case.code, case.state)
    for step_id in waiting:
        case.steps[step_id].needs_approval = False
    return [AmendmentApproved(now, tuple(waiting))]


def decide_consent(
    case: Case, scopes: list[str], status: ConsentStatus, now: datetime
) -> list[Event]:
    """Record consent given, refused or withdrawn for scopes of this plan."""
    if case.ended:
        raise CaseNotInState(case.code, case.state, "change consent any more")
    known = case.plan.recordable_scopes
    unknown = [s for s in scopes if s not in known]
    if unknown:
        raise NoSuchScope(case.code, unknown[0], known)
    events: list[Event] = []
    for scope in scopes:
        if status == "withdrawn" and scope not in case.consents:
            raise ConsentNeverGiven(case.code, scope)
        case.consents[scope] = Consent(status, now)
        events.append(ConsentRecorded(now, scope, status))
    if status != "given":
        for step in case.plan.steps:
            run = case.steps[step.id]
            if run.state == "open" and set(step.consent) & set(scopes):
                end_step(run, "cancelled", now, "consent withdrawn")
                events.append(StepCancelled(now, step.id, "consent withdrawn"))
    return events


def withdrawn_by_all(case: Case) -> list[str]:
    """The scopes all consent withdrawn withdraws: those its steps need, and `statistics`
    if it was recorded (all means the person is no longer counted in broken-down tables)."""
    return [
        s
        for s in case.plan.recordable_scopes
        if s in case.plan.consent_scopes or s in case.consents
    ]


def withdraw_all(case: Case, now: datetime) -> list[Event]:
    """Consent withdrawn entirely: every open or waiting step ends and the case is cancelled."""
    if case.ended:
        raise CaseNotInState(case.code, case.state, "end it: it has already ended")
    events: list[Event] = [ConsentRecorded(now, "all", "withdrawn")]
    for scope in withdrawn_by_all(case):
        case.consents[scope] = Consent("withdrawn", now)
    events += end_all(case, now, "consent withdrawn")
    case.state, case.reason = "cancelled", "consent withdrawn"
    events.append(PlanCancelled(now, "consent withdrawn"))
    return events


def breach(case: Case, rule: str, now: datetime) -> list[Event]:
    """A programme rule was broken: every open step ends and the case is terminated."""
    if case.ended:
        raise CaseNotInState(case.code, case.state, "end it: it has already ended")
    if rule not in case.plan.rules:
        raise NoSuchRule(case.code, rule, list(case.plan.rules))
    events = end_all(case, now, f"rule {rule} breached")
    case.state, case.reason = "terminated", f"rule {rule} breached"
    events.append(PlanTerminated(now, rule))
    return events


def end_all(case: Case, now: datetime, reason: str) -> list[Event]:
    """Every step not ended yet is cancelled for `reason`; partners of open steps are told."""
    events: list[Event] = []
    for run in case.steps.values():
        if run.state not in ENDED_STEP:
            was_open = run.state == "open"
            end_step(run, "cancelled", now, reason)
            if was_open:  # only partners who were referred need to hear it is off
                events.append(StepCancelled(now, run.id, reason))
    return events


def record_outcome(
    case: Case,
    step_id: str,
    outcome: RecordedOutcome,
    by: str,
    now: datetime,
    *,
    seq: int | None = None,
) -> tuple[CheckIn, list[Event]]:
    """A person records how a check-in went: check-in `seq` (its form in the UI) if given,
    else the oldest one still pending, else the latest one the clock marked missed (a late
    report corrects it)."""
    run = case.run(step_id)
    if case.plan.step(step_id).check_ins is None:
        raise NoCheckIns(case.code, step_id)
    chosen = [c for c in run.check_ins if seq is None or c.seq == seq]
    pending = [c for c in chosen if c.outcome == "pending"]
    auto_missed = [c for c in chosen if c.outcome == "missed" and c.recorded_by is None]
    # A partner's report (through its link) stays open to the case manager's correction for
    # the check-in's follow-up window (two grace periods after it).
    window = 2 * case.plan.step(step_id).check_ins.grace_period  # type: ignore[union-attr]  # checked above
    reported = [
        c for c in chosen if (c.recorded_by or "").startswith("partner:") and now <= c.at + window
    ]
    if not by.startswith("partner:"):
        auto_missed += reported
    target = pending[0] if pending else (auto_missed[-1] if auto_missed else None)
    if target is None:
        raise NoCheckInWaiting(case.code, step_id)
    target.outcome, target.recorded_by = outcome, by
    return target, [CheckInRecorded(now, step_id, target.seq, outcome)]


def complete_step(case: Case, step_id: str, now: datetime) -> list[Event]:
    """A person marks an open step completed."""
    _require_active(case, f"complete step {step_id}")
    run = case.run(step_id)
    if run.state != "open":
        raise StepNotOpen(case.code, step_id, run.state)
    end_step(run, "completed", now, "completed by hand")
    return [StepCompleted(now, step_id, "completed by hand")]


def amend(case: Case, plan: Plan, now: datetime, *, revision: int) -> list[Event]:
    """A new revision (number `revision`) applies to what has not happened yet; history stays
    as it was. Consent is sovereign: a new or changed step needing a scope the person refused
    or withdrew is refused. New steps, and steps not yet started that get a new partner, wait
    for the supervisor's approval; steps already running go on."""
    if case.ended:
        raise CaseNotInState(case.code, case.state, "amend it any more")
    if plan.case != case.code:
        raise PlanOfAnotherCase(case.code, plan.case)
    before = {s.id: s for s in case.plan.steps}
    for step in plan.steps:
        old = before.get(step.id)
        if old == step:
            continue
        # A changed step is refused for a scope it needs now or needed before: dropping a
        # refused scope from a step's `consent` would route around the refusal.
        for scope in dict.fromkeys([*step.consent, *(old.consent if old else [])]):
            decided = case.consents.get(scope)
            if decided is not None and decided.status != "given":
                raise ConsentNotGiven(case.code, step.id, scope, decided.status)
    events: list[Event] = []
    new_ids = {s.id for s in plan.steps}
    for step_id, run in case.steps.items():
        if step_id not in new_ids and run.state not in ENDED_STEP:
            was_open = run.state == "open"
            end_step(run, "cancelled", now, "removed by amendment")
            if was_open:
                events.append(StepCancelled(now, step_id, "removed by amendment"))
    for step in plan.steps:
        if step.id not in case.steps:
            case.steps[step.id] = StepProgress(step.id)
            events.append(StepAdded(now, step.id))
        else:
            run = case.steps[step.id]
            old = case.plan.step(step.id) if step.id in {s.id for s in case.plan.steps} else None
            if run.state == "open" and old is not None and old != step:
                events.append(StepRescheduled(now, step.id))
    if case.state == "active":  # before approval, the plan's approval covers every step
        waiting = [
            step.id
            for step in plan.steps
            if case.steps[step.id].state in ("pending", "awaiting-consent")
            and (
                step.id not in before
                or before[step.id].partner != step.partner
                or not set(before[step.id].consent) <= set(step.consent)  # asks for less
            )
        ]
        for step_id in waiting:
            case.steps[step_id].needs_approval = True
        if waiting:
            events.append(AmendmentToApprove(now, revision, tuple(waiting)))
    # Steps removed long ago stay in history; the plan's start never moves once launched.
    case.plan = plan.without_person()
    # A plan sent back is amended as asked: it waits for its supervisor's approval again.
    case.sent_back_by = case.sent_back_at = None
    events.append(PlanAmended(now))
    return events
