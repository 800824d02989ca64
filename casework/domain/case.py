"""A case's state: its steps' runs, check-ins and consents, and when it next needs the engine.
Pure Python, no database, no Prefect; how time moves it is casework/domain/time_passes.py."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from casework.domain.errors import NoSuchStep
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
class StepProgress:
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
    accepted: bool | None = None  # the partner's answer to the referral (None: no answer yet)
    acknowledge_told: bool = False  # its manager was told the referral went unanswered
    answered_at: datetime | None = None  # when the partner answered the referral


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
    steps: dict[str, StepProgress] = field(default_factory=dict)
    consents: dict[str, Consent] = field(default_factory=dict)
    reason: str | None = None
    closed_to: str | None = None  # the organisation a case closed `transferred` went to
    # Sent back to its case manager by the supervisor (awaiting approval still): until amended.
    sent_back_by: str | None = None
    sent_back_at: datetime | None = None

    @classmethod
    def new(cls, plan: Plan, start: datetime, *, approval_required: bool) -> Case:
        """A case as launched: awaiting approval, or active from its start."""
        case = cls(code=plan.case, plan=plan.without_person(), start=start)
        case.steps = {s.id: StepProgress(s.id) for s in plan.steps}
        if not approval_required:
            case.state, case.approved_at = "active", start
        return case

    def run(self, step_id: str) -> StepProgress:
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


def check_in_time(step: Step, run: StepProgress, seq: int) -> datetime | None:
    """When check-in `seq` of an open step falls, or None if the schedule has no such one."""
    ci = step.check_ins
    if ci is None or run.started_at is None or (ci.count is not None and seq >= ci.count):
        return None
    at = run.started_at + ci.first_after + seq * ci.every
    if step.duration is not None and at >= run.started_at + step.duration:
        return None
    return at


def ready_at(case: Case, step: Step) -> datetime | None:
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


def end_step(run: StepProgress, state: StepState, at: datetime, reason: str | None = None) -> None:
    """Close a step with the state it ended in and why."""
    run.state, run.ended_at, run.reason = state, at, reason


def miss_streak(run: StepProgress, seq: int) -> int:
    """How many check-ins in a row, up to and including number `seq`, were missed."""
    streak = 0
    for earlier in reversed(run.check_ins[: seq + 1]):
        if earlier.outcome != "missed":
            break
        streak += 1
    return streak


def unfollowed(ci: CheckIn) -> bool:
    """Marked missed by the clock (or reported missed by its partner) and no staff member has
    recorded anything since."""
    return ci.outcome == "missed" and not by_staff(ci.recorded_by) and not ci.escalated


def by_staff(recorded_by: str | None) -> bool:
    """Whether a check-in's outcome was recorded by a staff member (not the clock or a
    partner's link, `partner:<id>`)."""
    return recorded_by is not None and not recorded_by.startswith("partner:")


def next_wake(case: Case) -> datetime | None:
    """The next moment time alone will change this case; None if only a person can."""
    if case.state != "active":
        return None
    times: list[datetime] = []
    for step in case.plan.steps:
        run = case.steps[step.id]
        if run.state == "pending":
            ready = ready_at(case, step)
            if ready is not None:
                times.append(ready)
        if run.state == "open" and run.started_at is not None:
            at = check_in_time(step, run, len(run.check_ins))
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
            times.extend(ci.at + 2 * grace for ci in run.check_ins if unfollowed(ci))
    return min(times) if times else None
