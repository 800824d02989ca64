"""What a partner's answer through its link does to a case: accept or decline a referral,
report how a check-in went, ask for another date. Its events carry ids and fixed words only."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from casework.domain.case import Case, by_staff, miss_streak
from casework.domain.errors import LinkRefused
from casework.domain.events import Event
from casework.domain.partner_links import DECLINE_REASONS, Link
from casework.domain.step_events import CheckInMissed, StepEvent


@dataclass(frozen=True)
class ReferralAccepted(StepEvent):
    """The step's partner accepted the referral."""

    KIND = "referral-accepted"
    partner: str


@dataclass(frozen=True)
class ReferralDeclined(StepEvent):
    """The step's partner declined the referral (`reason` from DECLINE_REASONS): the step
    waits for another partner (an amendment)."""

    KIND = "referral-declined"
    partner: str
    reason: str

    def note(self) -> str:
        """The reason."""
        return self.reason


@dataclass(frozen=True)
class CheckInReported(StepEvent):
    """The step's partner reported how check-in `occurrence` went (the case manager may
    correct it)."""

    KIND = "check-in-reported"
    occurrence: int
    outcome: str
    partner: str

    def note(self) -> str:
        """The outcome."""
        return self.outcome


@dataclass(frozen=True)
class AnotherDateAsked(StepEvent):
    """The step's partner asked for another date for check-in `occurrence`; nothing moves
    until the case manager decides."""

    KIND = "another-date-asked"
    occurrence: int
    partner: str
    wanted: str  # an ISO date


@dataclass(frozen=True)
class ReferralUnanswered(StepEvent):
    """The step's partner has not answered its referral within its `acknowledge_within`: the
    case manager is told, once."""

    KIND = "referral-unanswered"
    partner: str


SENDING = ("pending", "sent")


def _waiting_answer(case: Case) -> list[tuple[str, str, datetime]]:
    """(step, partner, started) of each open step whose referral went and has no answer."""
    out = []
    for step in case.plan.steps:
        run = case.steps.get(step.id)
        if run is None or run.state != "open" or run.started_at is None:
            continue
        # Sent, or still on its way (held by quiet hours): a partner who never heard of it
        # has not answered either, and its manager should know.
        if run.accepted is None and not run.acknowledge_told and run.referral in SENDING:
            out.append((step.id, step.partner, run.started_at))
    return out


def unanswered(case: Case, within: Mapping[str, timedelta], now: datetime) -> list[Event]:
    """Referrals their partner left unanswered longer than its `within` (by partner id): the
    case manager is told of each once."""
    events: list[Event] = []
    for step_id, partner, started in _waiting_answer(case):
        if partner in within and started + within[partner] <= now:
            case.steps[step_id].acknowledge_told = True
            events.append(ReferralUnanswered(now, step_id, partner))
    return events


def next_unanswered(case: Case, within: Mapping[str, timedelta]) -> datetime | None:
    """When the next referral still waiting for its answer will have waited too long."""
    times = [s + within[p] for _, p, s in _waiting_answer(case) if p in within]
    return min(times, default=None)


def still_the_partners(case: Case, link: Link) -> None:
    """Refuse a link whose step is gone from the plan or no longer its partner's."""
    steps = {s.id: s for s in case.plan.steps}
    step = steps.get(link.step)
    if step is None or step.partner != link.partner or link.step not in case.steps:
        raise LinkRefused("gone")


def answered(case: Case, link: Link) -> str | None:
    """What the case already holds as the answer to the link's question, or None (a request
    for another date is kept only as the partner's answer, in the store)."""
    run = case.steps[link.step]
    if link.choice == "another-date":
        return None
    if link.question == "referral":
        if run.accepted is None:
            return None
        return "accept" if run.accepted else "decline"
    seq = link.seq
    if seq is None or seq >= len(run.check_ins):
        return None
    ci = run.check_ins[seq]
    if ci.outcome == "pending" or (ci.outcome == "missed" and ci.recorded_by is None):
        return None
    return ci.outcome if ci.outcome in ("attended", "missed") else "recorded"


def answer(
    case: Case, link: Link, now: datetime, *, reason: str | None, wanted: date | None
) -> list[Event]:
    """Apply the link's choice to the case (reported by `partner:<id>`); LinkRefused when the
    question is no longer open."""
    still_the_partners(case, link)
    if answered(case, link) is not None:
        raise LinkRefused("answered")
    run = case.steps[link.step]
    if link.question == "referral":
        if run.state != "open":
            raise LinkRefused("gone")
        run.answered_at = now
        if link.choice == "accept":
            run.accepted = True
            return [ReferralAccepted(now, link.step, link.partner)]
        if reason not in DECLINE_REASONS:
            raise ValueError(f"reason must be one of {', '.join(DECLINE_REASONS)}")
        run.accepted = False
        return [ReferralDeclined(now, link.step, link.partner, reason)]
    seq = link.seq
    if seq is None or run.state != "open":
        raise LinkRefused("gone")
    if link.choice == "another-date":
        if wanted is None:
            raise ValueError("the date asked for is missing")
        return [AnotherDateAsked(now, link.step, seq, link.partner, wanted.isoformat())]
    if seq >= len(run.check_ins):
        raise LinkRefused("early")
    ci = run.check_ins[seq]
    ci.outcome, ci.recorded_by = link.choice, f"partner:{link.partner}"  # type: ignore[assignment]  # attended or missed
    events: list[Event] = [CheckInReported(now, link.step, seq, link.choice, link.partner)]
    if link.choice == "missed":
        events.append(CheckInMissed(now, link.step, seq, miss_streak(run, seq)))
    return events


def partner_reported(recorded_by: str | None) -> bool:
    """Whether a check-in's outcome came from its partner's link."""
    return recorded_by is not None and not by_staff(recorded_by)
