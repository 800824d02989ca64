"""What the report counts, as plain facts read from the case history: no names, no codes of
people, nothing a table could not be made of. casework/store/report_source.py builds them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from report.who import Who


@dataclass(frozen=True)
class Episode:
    """One launch of a case's plan and how it went."""

    launched_at: datetime
    number: int
    approval_asked: bool = False
    approved_at: datetime | None = None
    ended_at: datetime | None = None
    outcome: str | None = None  # completed | cancelled | terminated
    rule: str | None = None  # the rule a terminated episode broke
    closed: str | None = None  # why staff closed it (`rehab case close --reason`), if they did
    not_delivered: bool = False  # completed, but no completed step's partner was ever told


@dataclass(frozen=True)
class StepFact:
    """One step of one episode: its kind of help, its partner's kind, when it started and ended."""

    help_type: str  # spl_Type code
    partner_kind: str
    started_at: datetime | None
    ended_at: datetime | None
    state: str
    delivered: bool = True  # False: completed, but its partner was never told (not help given)
    accepted: bool | None = None  # its partner's answer to the referral, through its link
    answered_at: datetime | None = None


@dataclass(frozen=True)
class CheckInFact:
    """One recorded check-in outcome."""

    help_type: str
    at: datetime
    outcome: str  # attended | missed | rescheduled
    partner_kind: str = "unknown-partner"
    partner_reported: bool = False  # recorded by its partner through its link


@dataclass(frozen=True)
class ConsentFact:
    """One consent decision."""

    scope: str
    status: str  # given | refused | withdrawn
    at: datetime


@dataclass(frozen=True)
class Person:
    """One person (one case, across its episodes), without anything that names them. `who`
    is None unless their latest `statistics` consent is given: then they are counted only in
    the "not broken down" rows."""

    identified_at: datetime
    who: Who | None
    episodes: tuple[Episode, ...] = ()
    steps: tuple[StepFact, ...] = ()
    check_ins: tuple[CheckInFact, ...] = ()
    consents: tuple[ConsentFact, ...] = ()
    closed_state: str | None = None  # a case recorded, never launched, that ended

    def state_at(self, moment: datetime) -> str | None:
        """The case's state code just before `moment` (None: not identified yet)."""
        if self.identified_at >= moment:
            return None
        launched = [e for e in self.episodes if e.launched_at < moment]
        if not launched:
            return self.closed_state or "Recorded"
        last = launched[-1]
        if last.ended_at is not None and last.ended_at < moment and last.outcome:
            return last.outcome.capitalize()
        if last.approval_asked and (last.approved_at is None or last.approved_at >= moment):
            return "AwaitingApproval"
        return "Active"

    def active_during(self, start: datetime, end: datetime) -> bool:
        """Whether an episode of the case ran at some moment in [start, end)."""
        if not self.episodes:
            return self.identified_at < end and self.closed_state is None
        return any(
            e.launched_at < end and (e.ended_at is None or e.ended_at >= start)
            for e in self.episodes
        )
