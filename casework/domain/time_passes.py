"""How time moves a case: `advance` starts steps whose time has come, makes their check-ins
due, marks the missed and ends what is over. The engine and `rehab plan simulate` both drive a
case through it, so the simulation predicts exactly what the engine will do."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from casework.domain.case import (
    ENDED_STEP,
    MAX_CHECK_INS_PER_WAKE,
    Case,
    CheckIn,
    StepProgress,
    check_in_time,
    end_step,
    miss_streak,
    ready_at,
    unfollowed,
)
from casework.domain.errors import WakeTooLarge
from casework.domain.events import Event, PlanCompleted
from casework.domain.step_events import (
    CheckInDue,
    CheckInMissed,
    CheckInNotFollowedUp,
    ConsentNeeded,
    StepCompleted,
    StepOverdue,
    StepSkipped,
    StepStarted,
)
from plans.durations import format_duration
from plans.model import Step


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


def _progress(run: StepProgress) -> tuple[str, int, int, int]:
    """Everything `advance` can change about a step, to know when to go round again."""
    pending = sum(1 for c in run.check_ins if c.outcome == "pending")
    escalated = sum(1 for c in run.check_ins if c.escalated)
    return run.state, len(run.check_ins), run.overdue_level, pending + 1000 * escalated


def _maybe_start(
    case: Case, step: Step, run: StepProgress, now: datetime, events: list[Event]
) -> None:
    failed = [d for d in step.after if case.steps[d].state in ("skipped", "cancelled")]
    if failed:
        end_step(run, "skipped", now, f"prerequisite {failed[0]} was {case.steps[failed[0]].state}")
        events.append(StepSkipped(now, step.id, run.reason or ""))
        return
    ready = ready_at(case, step)
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
    case: Case,
    step: Step,
    run: StepProgress,
    now: datetime,
    events: list[Event],
    *,
    budget: _Budget,
) -> None:
    assert run.started_at is not None  # an open step has started
    while (at := check_in_time(step, run, len(run.check_ins))) is not None and at <= now:
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


def _mark_missed(
    case: Case, step: Step, run: StepProgress, now: datetime, events: list[Event]
) -> None:
    if step.check_ins is None:
        return
    grace = step.check_ins.grace_period
    for ci in run.check_ins:
        if ci.outcome == "pending" and ci.at + grace <= now:
            ci.outcome = "missed"
            events.append(CheckInMissed(now, step.id, ci.seq, miss_streak(run, ci.seq)))
        if unfollowed(ci) and ci.at + 2 * grace <= now:
            ci.escalated = True
            events.append(CheckInNotFollowedUp(now, step.id, ci.seq))
