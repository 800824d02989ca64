"""A case's state and how time and people move it: pure Python, no database, no Prefect.

The engine and `rehab plan simulate` both drive a case through `advance`, so the simulation
predicts exactly what the engine will do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from casework.domain.errors import NoSuchStep, WakeTooLarge
from casework.domain.events import (
    CheckInDue,
    CheckInMissed,
    CheckInNotFollowedUp,
    ConsentNeeded,
    Event,
    PlanCompleted,
    StepCompleted,
    StepOverdue,
    StepSkipped,
    StepStarted,
)
from plans.durations import format_duration
from plans.model import Plan, Step

CaseState = Literal["awaiting-approval", "active", "completed", "cancelled", "terminated"]
StepState = Literal["pending", "awaiting-consent", "open", "completed", "skipped", "cancelled"]
Outcome = Literal["attended", "missed", "rescheduled", "pending"]
ConsentStatus = Literal["given", "refused", "withdrawn"]
RecordedOutcome = Literal["attended", "missed", "rescheduled"]
# Whether the partner heard of the step: None when nothing was recorded (simulation, old rows).
Referral = Literal["pending", "sent", "withdrawn", "dead"]

CASE_STATES: tuple[str, ...] = CaseState.__args__  # type: ignore[attr-defined]  # Literal values
STEP_STATES: tuple[str, ...] = StepState.__args__  # type: ignore[attr-defined]  # Literal values
RECORDED_OUTCOMES: tuple[str, ...] = RecordedOutcome.__args__  # type: ignore[attr-defined]  # Literal values
ENDED_STEP: frozenset[str] = frozenset({"completed", "skipped", "cancelled"})
ENDED_CASE: frozenset[str] = frozenset({"completed", "cancelled", "terminated"})
# A case brought in by `rehab case import` still open: recorded, not launched (no plan yet).
IMPORTED = "imported"
STORED_STATES: tuple[str, ...] = (*CASE_STATES, IMPORTED)
# The most check-ins one wake may create, whatever reached the store (security.md rule 13): a
# weekly check-in would need 19 years of downtime to reach it, one every 30 s (demos) 8 hours;
# `every: 0s` would otherwise fill memory in one wake.
MAX_CHECK_INS_PER_WAKE = 1000


@dataclass
class CheckIn:
    """One scheduled check-in of a step, numbered from 0."""

    seq: int
    at: datetime
    outcome: Outcome = "pending"
    recorded_by: str | None = None  # None while pending or when marked missed by the clock
    escalated: bool = False  # a miss nobody followed up: the supervisor has been told


@dataclass
class StepRun:
    """What has happened to one step."""

    id: str
    state: StepState = "pending"
    started_at: datetime | None = None
    ended_at: datetime | None = None
    overdue_level: int = 0  # 1 = case manager told, 2 = supervisor told
    reason: str | None = None
    check_ins: list[CheckIn] = field(default_factory=list)
    needs_approval: bool = False  # added by an amendment the supervisor has not approved
    referral: Referral | None = None  # the engine's: "pending" once queued, then the outbox's


@dataclass
class Consent:
    """The latest decision on one consent scope."""

    status: ConsentStatus
    at: datetime


@dataclass
class Case:
    """A case's plan (current revision, without personal data) and everything that happened."""

    code: str
    plan: Plan
    start: datetime
    state: CaseState = "awaiting-approval"
    approved_at: datetime | None = None
    steps: dict[str, StepRun] = field(default_factory=dict)
    consents: dict[str, Consent] = field(default_factory=dict)
    reason: str | None = None

    @classmethod
    def new(cls, plan: Plan, start: datetime, *, approval_required: bool) -> Case:
        """A case as launched: awaiting approval, or active from its start."""
        case = cls(code=plan.case, plan=plan.without_person(), start=start)
        case.steps = {s.id: StepRun(s.id) for s in plan.steps}
        if not approval_required:
            case.state, case.approved_at = "active", start
        return case

    def run(self, step_id: str) -> StepRun:
        """What has happened to a step; NoSuchStep naming the plan's steps if unknown."""
        if step_id not in self.steps:
            raise NoSuchStep(self.code, step_id, list(self.steps))
        return self.steps[step_id]

    @property
    def ended(self) -> bool:
        """Completed, cancelled or terminated: nothing more will happen."""
        return self.state in ENDED_CASE

    @property
    def waiting_consent(self) -> list[str]:
        """Scopes some waiting step needs that nobody has decided on yet."""
        needed = [
            s
            for step in self.plan.steps
            if self.steps[step.id].state == "awaiting-consent"
            for s in step.consent
        ]
        return [s for s in dict.fromkeys(needed) if s not in self.consents]

    @property
    def awaiting_amendment_approval(self) -> list[str]:
        """Steps an amendment added (or gave a new partner) that wait for the supervisor."""
        return [
            sid
            for sid, run in self.steps.items()
            if run.needs_approval and run.state not in ENDED_STEP
        ]


def checkin_time(step: Step, run: StepRun, seq: int) -> datetime | None:
    """When check-in `seq` of an open step falls, or None if the schedule has no such one."""
    ci = step.check_ins
    if ci is None or run.started_at is None or (ci.count is not None and seq >= ci.count):
        return None
    at = run.started_at + ci.first_after + seq * ci.every
    if step.duration is not None and at >= run.started_at + step.duration:
        return None
    return at


def _ready_at(case: Case, step: Step) -> datetime | None:
    """When a pending step may start as far as time and prerequisites go; None if not yet."""
    if case.steps[step.id].needs_approval:
        return None  # an amendment's new step starts once the supervisor approves it
    times = [case.start + step.start]
    for dep in step.after:
        dep_run = case.steps[dep]
        if dep_run.state != "completed" or dep_run.ended_at is None:
            return None
        times.append(dep_run.ended_at)
    if case.approved_at is not None:
        times.append(case.approved_at)
    return max(times)


def end_step(run: StepRun, state: StepState, at: datetime, reason: str | None = None) -> None:
    """Close a step with the state it ended in and why."""
    run.state, run.ended_at, run.reason = state, at, reason


def advance(case: Case, now: datetime, *, limit: int = MAX_CHECK_INS_PER_WAKE) -> list[Event]:
    """Apply everything time has made due up to `now`; idempotent: a second call adds nothing.
    WakeTooLarge, with the case unsaved, if that takes more than `limit` new check-ins."""
    if case.state != "active":
        return []
    events: list[Event] = []
    budget = _Budget(case.code, limit)
    changed = True
    while changed:  # a step ending can let its dependents start at the same moment
        changed = False
        for step in case.plan.steps:
            run = case.steps[step.id]
            before = _progress(run)
            if run.state in ("pending", "awaiting-consent"):
                _maybe_start(case, step, run, now, events)
            if run.state == "open":
                _advance_open(case, step, run, now, events, budget=budget)
            _mark_missed(case, step, run, now, events)
            changed = changed or before != _progress(run)
    if all(r.state in ENDED_STEP for r in case.steps.values()):
        case.state = "completed"
        events.append(PlanCompleted(now))
    return events


def _progress(run: StepRun) -> tuple[str, int, int, int]:
    """Everything `advance` can change about a step, to know when to go round again."""
    pending = sum(1 for c in run.check_ins if c.outcome == "pending")
    escalated = sum(1 for c in run.check_ins if c.escalated)
    return run.state, len(run.check_ins), run.overdue_level, pending + 1000 * escalated


def _maybe_start(case: Case, step: Step, run: StepRun, now: datetime, events: list[Event]) -> None:
    failed = [d for d in step.after if case.steps[d].state in ("skipped", "cancelled")]
    if failed:
        end_step(run, "skipped", now, f"prerequisite {failed[0]} was {case.steps[failed[0]].state}")
        events.append(StepSkipped(now, step.id, run.reason or ""))
        return
    ready = _ready_at(case, step)
    if ready is None or ready > now:
        return
    decisions = [case.consents.get(scope) for scope in step.consent]
    refused = [
        s
        for s, c in zip(step.consent, decisions, strict=True)
        if c is not None and c.status != "given"
    ]
    if refused:
        end_step(run, "skipped", now, f"consent {refused[0]} {case.consents[refused[0]].status}")
        events.append(StepSkipped(now, step.id, run.reason or ""))
    elif all(c is not None for c in decisions):
        run.state = "open"
        run.started_at = max([ready, *(c.at for c in decisions if c is not None)])
        events.append(StepStarted(now, step.id))
    elif run.state != "awaiting-consent":
        run.state = "awaiting-consent"
        missing = [s for s, c in zip(step.consent, decisions, strict=True) if c is None]
        events.append(ConsentNeeded(now, step.id, tuple(missing)))


@dataclass
class _Budget:
    """How many check-ins this wake has created, of how many it may."""

    code: str
    limit: int
    spent: int = 0

    def spend(self, step: Step) -> None:
        """One more check-in of `step`; WakeTooLarge past the limit."""
        if self.spent >= self.limit:
            every = format_duration(step.check_ins.every) if step.check_ins else "-"
            raise WakeTooLarge(self.code, step.id, self.limit, every)
        self.spent += 1


def _advance_open(
    case: Case, step: Step, run: StepRun, now: datetime, events: list[Event], *, budget: _Budget
) -> None:
    assert run.started_at is not None  # an open step has started
    while (at := checkin_time(step, run, len(run.check_ins))) is not None and at <= now:
        budget.spend(step)
        run.check_ins.append(CheckIn(len(run.check_ins), at))
        events.append(CheckInDue(now, step.id, len(run.check_ins) - 1))
    ci = step.check_ins
    if step.duration is not None and run.started_at + step.duration <= now:
        end_step(run, "completed", run.started_at + step.duration, "duration ended")
        events.append(StepCompleted(now, step.id, run.reason or ""))
        return
    if (
        step.duration is None
        and ci is not None
        and ci.count is not None
        and len(run.check_ins) == ci.count
        and all(c.outcome != "pending" for c in run.check_ins)
    ):
        end_step(run, "completed", now, "all check-ins done")
        events.append(StepCompleted(now, step.id, run.reason or ""))
        return
    if step.due is not None:
        overdue_at = run.started_at + step.due
        for level, at in ((1, overdue_at), (2, overdue_at + case.plan.escalate_after)):
            if run.overdue_level < level and at <= now:
                run.overdue_level = level
                events.append(StepOverdue(now, step.id, level))


def _mark_missed(case: Case, step: Step, run: StepRun, now: datetime, events: list[Event]) -> None:
    if step.check_ins is None:
        return
    grace = step.check_ins.grace_period
    for ci in run.check_ins:
        if ci.outcome == "pending" and ci.at + grace <= now:
            ci.outcome = "missed"
            events.append(CheckInMissed(now, step.id, ci.seq, miss_streak(run, ci.seq)))
        if _unfollowed(ci) and ci.at + 2 * grace <= now:
            ci.escalated = True
            events.append(CheckInNotFollowedUp(now, step.id, ci.seq))


def miss_streak(run: StepRun, seq: int) -> int:
    """How many check-ins in a row, up to and including number `seq`, were missed."""
    streak = 0
    for earlier in reversed(run.check_ins[: seq + 1]):
        if earlier.outcome != "missed":
            break
        streak += 1
    return streak


def _unfollowed(ci: CheckIn) -> bool:
    """Marked missed by the clock and nobody has recorded anything since."""
    return ci.outcome == "missed" and ci.recorded_by is None and not ci.escalated


def next_wake(case: Case) -> datetime | None:
    """The next moment time alone will change this case; None if only a person can."""
    if case.state != "active":
        return None
    times: list[datetime] = []
    for step in case.plan.steps:
        run = case.steps[step.id]
        if run.state == "pending":
            ready = _ready_at(case, step)
            if ready is not None:
                times.append(ready)
        if run.state == "open" and run.started_at is not None:
            at = checkin_time(step, run, len(run.check_ins))
            if at is not None:
                times.append(at)
            if step.duration is not None:
                times.append(run.started_at + step.duration)
            if step.due is not None and run.overdue_level < 2:
                times.append(
                    run.started_at
                    + step.due
                    + (case.plan.escalate_after if run.overdue_level else timedelta(0))
                )
        if step.check_ins is not None:
            grace = step.check_ins.grace_period
            times.extend(ci.at + grace for ci in run.check_ins if ci.outcome == "pending")
            times.extend(ci.at + 2 * grace for ci in run.check_ins if _unfollowed(ci))
    return min(times) if times else None
