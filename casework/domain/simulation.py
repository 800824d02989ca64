"""`rehab plan simulate`: drive a case through the same rules the engine uses, on a paper clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from casework.domain.case import ENDED_STEP, Case, next_wake
from casework.domain.events import ApprovalRequested, Event
from casework.domain.notices import Notice, after_quiet_hours, notices_for, upcoming_reminders
from casework.domain.step_events import (
    CheckInDue,
    ConsentNeeded,
    StepCompleted,
    StepOverdue,
    StepSkipped,
)
from casework.domain.time_passes import advance
from casework.domain.transitions import approve, decide_consent, record_outcome
from plans.directories import Directories
from plans.durations import format_duration
from plans.errors import InvalidFile, Issue
from plans.model import Plan

MAX_OCCURRENCES = 2_000  # check-ins a timeline shows: daily for a year, of five steps
MAX_WAKES = 10_000  # a safety net: the occurrence bound keeps a timeline far below it


@dataclass(frozen=True)
class Told:
    """A message in the simulated timeline: to whom, and when it would arrive."""

    kind: str
    recipient: str
    name: str
    arrives: datetime
    held: bool  # delayed by the recipient's quiet hours
    early: bool = False  # a reminder sent before quiet hours that would hold it past its check-in


@dataclass(frozen=True)
class Entry:
    """One moment of the timeline."""

    at: datetime
    step: str | None
    what: str
    told: tuple[Told, ...] = ()


@dataclass
class Simulation:
    """The timeline of a plan, assuming approval and consent at launch and every check-in
    attended; `open_at_end` lists steps still open at the horizon."""

    plan: Plan
    launch_at: datetime
    start: datetime
    entries: list[Entry] = field(default_factory=list)
    open_at_end: dict[str, str] = field(default_factory=dict)
    horizon: datetime | None = None
    cut_at: datetime | None = None  # the timeline stopped here (MAX_WAKES), short of the horizon


_WHAT = {
    "plan-approved": "plan approved (assumed at launch)",
    "step-started": "step starts",
    "step-completed": "step completes",
    "step-skipped": "step skipped",
    "consent-needed": "waits for consent",
    "check-in-due": "check-in",
    "step-overdue": "step overdue",
    "plan-completed": "plan complete",
}


def _recipient(notice: Notice, directories: Directories) -> tuple[str, ZoneInfo | None, str | None]:
    kind, rid = notice.recipient.split(":", 1)
    if kind == "partner":
        partner = directories.partners.partners[rid]
        tz = ZoneInfo(partner.timezone) if partner.timezone else None
        return f"{partner.name} ({rid})", tz, partner.quiet_hours
    member = directories.staff.staff[rid]
    tz = ZoneInfo(member.timezone) if member.timezone else None
    return f"{rid} ({member.role})", tz, member.quiet_hours


def _told(notice: Notice, directories: Directories, plan: Plan, *, early: bool = False) -> Told:
    name, tz, quiet = _recipient(notice, directories)
    urgent = notice.kind == "referral" and any(s.id == notice.step and s.urgent for s in plan.steps)
    arrives = notice.due_at if urgent else after_quiet_hours(notice.due_at, quiet, tz or plan.tz)
    return Told(notice.kind, notice.recipient, name, arrives, arrives != notice.due_at, early)


def _describe(event: Event) -> str:
    match event:
        case CheckInDue(occurrence=seq):
            return f"check-in #{seq + 1} (assumed attended)"
        case ConsentNeeded(scopes=scopes):
            return f"waits for consent: {','.join(scopes)} (assumed given at once)"
        case StepOverdue(level=level):
            return "step overdue" if level == 1 else "step still overdue: escalated"
        case StepCompleted(reason=reason) | StepSkipped(reason=reason) if reason:
            return f"{_WHAT[event.kind]} ({reason})"
    return _WHAT.get(event.kind, event.kind.replace("-", " "))


def _within(plan: Plan, horizon: timedelta) -> list[tuple[int, int, timedelta]]:
    """(step index, check-ins it can make before the horizon, their recurrence) of each step
    with check-ins:
    an upper bound (a step may start later than its own `start`, never earlier)."""
    found = []
    for i, step in enumerate(plan.steps):
        ci = step.check_ins
        if ci is None:
            continue
        span = horizon - step.start
        if step.duration is not None:
            span = min(span, step.duration)
        made = 0 if span < ci.first_after else (span - ci.first_after) // ci.every + 1
        found.append((i, made if ci.count is None else min(made, ci.count), ci.every))
    return found


def refuse_too_many(plan: Plan, horizon: timedelta, file: str) -> None:
    """InvalidFile naming the step whose check-ins would make the timeline absurdly long
    (every 1s for a year is 31 million): a simulation must end, quickly."""
    within = _within(plan, horizon)
    if sum(made for _, made, _ in within) <= MAX_OCCURRENCES:
        return
    i, made, every = max(within, key=lambda found: found[1])
    raise InvalidFile(
        [
            Issue(
                file,
                f"steps[{i}].check_ins.every",
                f"every {format_duration(every)} makes {made:,} check-ins within the "
                f"{format_duration(horizon)} simulated, more than a timeline shows "
                f"({MAX_OCCURRENCES:,} in all): simulate a shorter --horizon, or give a "
                "longer every or a count",
            )
        ]
    )


def simulate(
    plan: Plan,
    directories: Directories,
    *,
    launch_at: datetime,
    approval_required: bool = True,
    horizon: timedelta = timedelta(days=365),
    file: str = "the plan",
) -> Simulation:
    """The timeline of `plan` launched at `launch_at`, up to `horizon` after its start;
    InvalidFile (naming `file`) if that would hold more than MAX_OCCURRENCES check-ins."""
    refuse_too_many(plan, horizon, file)
    supervisor = directories.supervisor_of(plan) or ""
    start = plan.start_utc(launch_at)
    case = Case.new(plan, start, approval_required=approval_required)
    sim = Simulation(plan, launch_at, start, horizon=start + horizon)

    def note(event: Event, at: datetime) -> None:
        told = tuple(_told(n, directories, plan) for n in notices_for(event, case, supervisor))
        sim.entries.append(Entry(at, event.step, _describe(event), told))

    if approval_required:
        note(ApprovalRequested(launch_at, 1), launch_at)
        approve(case, launch_at)
    seen: set[str] = set()
    now = start
    for wakes in range(MAX_WAKES + 1):
        if wakes == MAX_WAKES:
            sim.cut_at = now
            break
        events = advance(case, now)
        while events:
            for event in events:
                note(event, now)
            follow: list[Event] = []
            for event in events:
                if isinstance(event, CheckInDue):
                    follow += record_outcome(case, event.step_id, "attended", "simulation", now)[1]
                if isinstance(event, ConsentNeeded):
                    scopes = [s for s in event.scopes if s not in case.consents]
                    if scopes:
                        follow += decide_consent(case, scopes, "given", now)
            events = advance(case, now) if follow else []
        # As the engine queues them: placed around the partners' quiet hours.
        # A reminder moved before quiet hours may fall before its step started and not go
        # at all: each is matched to its plain due time by its key, not by its place.
        as_due = {due.key: due.due_at for due in upcoming_reminders(case)}
        for reminder in upcoming_reminders(case, directories):
            if reminder.key not in seen:
                seen.add(reminder.key)
                seq = int(reminder.occurrence.split("@")[0]) + 1
                early = reminder.due_at != as_due.get(reminder.key, reminder.due_at)
                sim.entries.append(
                    Entry(
                        reminder.due_at,
                        reminder.step,
                        f"reminder of check-in #{seq}",
                        (_told(reminder, directories, plan, early=early),),
                    )
                )
        wake = next_wake(case)
        if wake is None or wake > start + horizon:
            break
        now = wake
    for step_id, run in case.steps.items():
        if run.state not in ENDED_STEP:
            sim.open_at_end[step_id] = run.state
    sim.entries.sort(key=lambda e: e.at)
    return sim
