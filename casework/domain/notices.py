"""Who is told what, and when: the notices each event causes, and check-in reminders."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from casework.domain.case import Case, by_staff, check_in_time
from casework.domain.events import (
    AmendmentToApprove,
    ApprovalRequested,
    Event,
    PlanCancelled,
    PlanCompleted,
    PlanSentBack,
    PlanTerminated,
)
from casework.domain.partner_answers import (
    AnotherDateAsked,
    CheckInReported,
    ReferralDeclined,
    ReferralUnanswered,
)
from casework.domain.step_events import (
    CheckInMissed,
    CheckInNotFollowedUp,
    ConsentNeeded,
    StepCancelled,
    StepOverdue,
    StepRescheduled,
    StepStarted,
)
from plans.directories import Directories, quiet_bounds
from plans.model import Plan

NOTICE_KINDS = (
    "referral",
    "reminder",
    "step-cancelled",
    "step-rescheduled",
    "check-in-missed",
    "missed-again",
    "missed-not-followed-up",
    "step-overdue",
    "overdue-escalated",
    "approval-request",
    "plan-sent-back",
    "amendment-request",
    "consent-request",
    "plan-completed",
    "plan-ended",
    "case-quarantined",
    "staff-locked",  # about a staff member, not a case (casework/services/lockout.py)
    "referral-withdrawn",
    "referral-declined",  # a partner's answers through its links (partner_answers.py)
    "check-in-reported",
    "another-date-asked",
    "referral-unanswered",
)
# A reminder that quiet hours would hold until its check-in goes this long before they begin.
BEFORE_QUIET = timedelta(minutes=10)


@dataclass(frozen=True)
class Notice:
    """One message to one recipient (`partner:<id>` or `staff:<id>`), about one case."""

    kind: str
    recipient: str
    case: str
    due_at: datetime
    step: str | None = None
    occurrence: str = ""

    @property
    def key(self) -> str:
        """Unique per (case, step, kind, occurrence, recipient): queueing twice is a no-op."""
        return "|".join((self.case, self.step or "-", self.kind, self.occurrence, self.recipient))


def _partner(step_id: str | None, *plans: Plan | None) -> str | None:
    """`partner:<id>` of the step in the first plan that has it (the current plan, then the
    plan as it was before a change: a step an amendment removed is still its partner's)."""
    for plan in plans:
        if plan is not None and step_id is not None:
            for step in plan.steps:
                if step.id == step_id:
                    return f"partner:{step.partner}"
    return None


def notices_for(
    event: Event, case: Case, supervisor: str, *, earlier: Plan | None = None
) -> list[Notice]:
    """The messages one event causes, to the right people and no one else; `earlier` is the
    plan before the change that caused the event, if it was an amendment."""
    manager, boss = f"staff:{case.plan.manager}", f"staff:{supervisor}"

    def to(kind: str, recipient: str, occurrence: str = "") -> Notice:
        return Notice(kind, recipient, case.code, event.at, event.step, occurrence)

    partner = _partner(event.step, case.plan, earlier)
    match event:
        case ApprovalRequested(episode=episode, revision=revision):
            again = f"/rev-{revision}" if revision else ""  # asked anew after a send back
            return [to("approval-request", boss, f"{episode}{again}")]
        case PlanSentBack(by=by, at=at):
            return [to("plan-sent-back", manager, f"{by}@{at.isoformat()}")]
        case AmendmentToApprove(revision=revision, at=at):
            return [to("amendment-request", boss, f"rev-{revision}@{at.isoformat()}")]
        case StepStarted() if partner:
            return [to("referral", partner)]
        case StepCancelled() if partner:
            return [to("step-cancelled", partner)]
        case StepRescheduled(at=at) if partner:
            return [to("step-rescheduled", partner, at.isoformat())]
        case ConsentNeeded(scopes=scopes):
            return [to("consent-request", manager, ",".join(scopes))]
        case CheckInMissed(occurrence=seq, streak=streak):
            notices = [to("check-in-missed", manager, str(seq))]
            if streak >= 2:
                notices.append(to("missed-again", boss, str(seq)))
            return notices
        case CheckInNotFollowedUp(occurrence=seq):
            return [to("missed-not-followed-up", boss, str(seq))]
        case StepOverdue(level=1):
            return [to("step-overdue", manager, "1")]
        case StepOverdue():
            return [to("overdue-escalated", boss, "2")]
        case ReferralDeclined(reason=reason):
            return [to("referral-declined", manager, reason), to("referral-declined", boss, reason)]
        case CheckInReported(occurrence=seq):
            return [to("check-in-reported", manager, str(seq))]
        case AnotherDateAsked(occurrence=seq, wanted=wanted):
            return [to("another-date-asked", manager, f"{seq}@{wanted}")]
        case ReferralUnanswered():
            return [to("referral-unanswered", manager)]
        case PlanCompleted():
            return [to("plan-completed", manager)]
        case PlanCancelled() | PlanTerminated():
            return [to("plan-ended", manager), to("plan-ended", boss)]
    return []


def upcoming_reminders(case: Case, directories: Directories | None = None) -> list[Notice]:
    """Reminders to partners before each open step's next check-in (lead times from `remind`);
    with the `directories`, each due when it will really go (see `before_quiet_hours`)."""
    notices = []
    for step in case.plan.steps:
        run = case.steps[step.id]
        if run.state != "open" or step.check_ins is None:
            continue
        at = check_in_time(step, run, len(run.check_ins))
        if at is None:
            continue
        for lead in step.check_ins.remind:
            when = at - lead
            partner = directories.partners.partners.get(step.partner) if directories else None
            if partner is not None and partner.quiet_hours:
                zone = ZoneInfo(partner.timezone) if partner.timezone else case.plan.tz
                when = before_quiet_hours(when, at, partner.quiet_hours, zone)
            if run.started_at is not None and when < run.started_at:
                continue  # the referral already said when the first session is
            notices.append(
                Notice(
                    "reminder",
                    f"partner:{step.partner}",
                    case.code,
                    when,
                    step.id,
                    f"{len(run.check_ins)}@{_lead(lead)}",
                )
            )
    return notices


def before_quiet_hours(
    when: datetime, deadline: datetime, quiet_hours: str, tz: ZoneInfo
) -> datetime:
    """When a reminder due `when` goes: then, unless quiet hours would hold it until its
    check-in (`deadline`) or later; then just before those quiet hours begin (in `tz`)."""
    if after_quiet_hours(when, quiet_hours, tz) < deadline:
        return when
    start, end = quiet_bounds(quiet_hours)
    local = when.astimezone(tz)
    day = local.date()
    if start > end and local.time().replace(tzinfo=None) < end:
        day -= timedelta(days=1)  # in the small hours: the quiet began the evening before
    began = datetime.combine(day, start).replace(tzinfo=tz).astimezone(UTC)
    return min(began, when) - BEFORE_QUIET


def _lead(lead: timedelta) -> str:
    return f"{int(lead.total_seconds())}s"


def after_quiet_hours(at: datetime, quiet_hours: str | None, tz: ZoneInfo) -> datetime:
    """`at` if it falls outside the recipient's quiet hours, else the first moment after it
    when their wall clock has left them. Quiet hours are wall-clock times in the recipient's
    zone, so they hold on the nights the clocks change too."""
    if not quiet_hours:
        return at
    start, end = quiet_bounds(quiet_hours)
    local = at.astimezone(tz)
    now_t = local.time().replace(tzinfo=None)
    wraps = start > end  # e.g. 21:00-08:00 spans midnight
    inside = (now_t >= start or now_t < end) if wraps else (start <= now_t < end)
    if not inside:
        return at
    end_day = local.date() + timedelta(days=1) if wraps and now_t >= start else local.date()
    return _first_instant_showing(datetime.combine(end_day, end), tz, after=at)


def _first_instant_showing(wall: datetime, tz: ZoneInfo, *, after: datetime) -> datetime:
    """The first instant after `after` when a clock in `tz` shows `wall` (naive) or, if the
    clocks jump over it that night, the instant they jump past it."""
    readings = [wall.replace(tzinfo=tz, fold=fold).astimezone(UTC) for fold in (0, 1)]
    real = sorted(u for u in readings if u.astimezone(tz).replace(tzinfo=None) == wall)
    if real:  # once, or twice on the night the clocks go back: the first one still ahead
        return next((u for u in real if u > after), max(real[-1], after))
    # `wall` is skipped (the clocks go forward over it): the jump is between the two readings.
    lo, hi = int(min(readings).timestamp()), int(max(readings).timestamp())
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if datetime.fromtimestamp(mid, tz).replace(tzinfo=None) >= wall:
            hi = mid
        else:
            lo = mid
    return max(datetime.fromtimestamp(hi, UTC), after)


# What each kind of message is about: a message whose reason has gone is withdrawn unsent.
ABOUT_A_STEP = frozenset({"reminder", "step-rescheduled", "step-overdue", "overdue-escalated"})
ABOUT_A_MISS = frozenset({"check-in-missed", "missed-again", "missed-not-followed-up"})


def gone(kind: str, step: str | None, occurrence: str, case: Case) -> str | None:
    """Why a message queued about this case no longer means anything (its decision was taken,
    its check-in came or was recorded, its step ended), or None while it still does. A
    referral whose step ended is judged by `referral_gone`, not here."""
    run = case.steps.get(step or "")
    if kind == "approval-request" and case.state != "awaiting-approval":
        return "the plan was decided on" if case.approved_at else "the plan ended"
    if kind == "approval-request" and case.sent_back_at is not None:
        return "the plan was sent back"
    if kind == "plan-sent-back" and (
        case.state != "awaiting-approval" or case.sent_back_at is None
    ):
        return "the plan was amended" if case.state == "awaiting-approval" else "it was decided"
    if kind == "amendment-request" and not case.awaiting_amendment_approval:
        return "the amendment was decided on"
    if kind == "consent-request":
        waiting = set(case.waiting_consent)
        if not waiting.intersection(occurrence.split(",")):
            return "the consent was decided on"
    if kind in ABOUT_A_STEP and (run is None or run.state != "open"):
        return "the step ended"
    seq = occurrence.split("@", maxsplit=1)[0]
    if run is None or not seq.isdigit():
        return None
    if kind == "reminder" and int(seq) < len(run.check_ins):
        return "its check-in has come"
    if kind in ABOUT_A_MISS and int(seq) < len(run.check_ins):
        check_in = run.check_ins[int(seq)]
        if check_in.outcome != "missed":
            return "the check-in was recorded"
        if kind == "missed-not-followed-up" and by_staff(check_in.recorded_by):
            return "the check-in was followed up"
    return None


def referral_gone(step: str | None, case: Case) -> str | None:
    """Why an unsent referral will not be sent: its step ended before it went. Never silent:
    the step then counts as not delivered, and a step that ran its time tells its manager."""
    run = case.steps.get(step or "")
    if run is None or run.state == "open":
        return None
    return f"the step was {run.state} before its partner was told"


def undelivered(case: Case) -> list[str]:
    """Completed steps whose partner was never told (referral withdrawn, dead or unsent):
    they do not count as help received."""
    return [
        sid
        for sid, run in case.steps.items()
        if run.state == "completed" and run.referral in ("pending", "withdrawn", "dead")
    ]
