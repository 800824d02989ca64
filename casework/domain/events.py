"""What happens to a case, as typed domain events: raised by the domain (and the services for
launch), matched by type where messages, audit rows and run logs are made.

Every field is an id, a number or a fixed reason: an event never carries personal data, so it
may be logged on the plan's Prefect run as it is.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import ClassVar


@dataclass(frozen=True)
class Event:
    """Something that happened to a case at `at`."""

    KIND: ClassVar[str] = "event"
    at: datetime

    @property
    def kind(self) -> str:
        """The event's name in audit rows and logs, e.g. `step-started`."""
        return self.KIND

    @property
    def step(self) -> str | None:
        """The step it is about, if any."""
        return None

    def facts(self) -> dict[str, str | int]:
        """Its fields but the time, for an audit row or a log line."""
        return {
            ("step" if f.name == "step_id" else f.name): value
            for f in fields(self)
            if f.name != "at" and (value := getattr(self, f.name)) not in (None, "", ())
        }

    def note(self) -> str:
        """What a log line adds in brackets after the kind and the step (ids and reasons)."""
        return ""

    def line(self) -> str:
        """One log line: `step-started medical`, `check-in-missed medical (streak=2)`."""
        note = self.note()
        return " ".join(p for p in (self.kind, self.step or "", f"({note})" if note else "") if p)


@dataclass(frozen=True)
class PlanLaunched(Event):
    """A plan was recorded: a new case, or a new episode of an ended one."""

    KIND = "plan-launched"
    episode: int

    def note(self) -> str:
        """The episode."""
        return f"episode {self.episode}"


@dataclass(frozen=True)
class ApprovalRequested(Event):
    """The plan (of this episode) waits for its supervisor's approval; `revision`: again,
    amended after it was sent back (0: the first time)."""

    KIND = "approval-requested"
    episode: int
    revision: int = 0


@dataclass(frozen=True)
class PlanSentBack(Event):
    """The supervisor sent the plan back to its case manager (her comment is sealed in the
    store, never here): it waits for her amendment, then for approval again."""

    KIND = "plan-sent-back"
    by: str

    def note(self) -> str:
        """Who sent it back."""
        return f"by {self.by}"


@dataclass(frozen=True)
class PlanApproved(Event):
    """The supervisor approved the plan."""

    KIND = "plan-approved"


@dataclass(frozen=True)
class PlanAmended(Event):
    """A new revision of the plan applies from now on."""

    KIND = "plan-amended"


@dataclass(frozen=True)
class AmendmentToApprove(Event):
    """An amendment added steps or partners; they start once the supervisor approves."""

    KIND = "amendment-to-approve"
    revision: int
    steps: tuple[str, ...]

    def facts(self) -> dict[str, str | int]:
        """The revision, and the steps as one comma-separated value."""
        return {"revision": self.revision, "steps": ",".join(self.steps)}

    def note(self) -> str:
        """The steps that wait."""
        return ",".join(self.steps)


@dataclass(frozen=True)
class AmendmentApproved(Event):
    """The supervisor approved an amendment's new steps and partners."""

    KIND = "amendment-approved"
    steps: tuple[str, ...]

    def facts(self) -> dict[str, str | int]:
        """The steps as one comma-separated value."""
        return {"steps": ",".join(self.steps)}

    def note(self) -> str:
        """The steps approved."""
        return ",".join(self.steps)


@dataclass(frozen=True)
class PlanCompleted(Event):
    """Every step ended: the plan is complete."""

    KIND = "plan-completed"


@dataclass(frozen=True)
class PlanCancelled(Event):
    """The plan ended early, e.g. all consent withdrawn."""

    KIND = "plan-cancelled"
    reason: str

    def note(self) -> str:
        """Why."""
        return self.reason


@dataclass(frozen=True)
class PlanTerminated(Event):
    """A programme rule was broken: the plan ended."""

    KIND = "plan-terminated"
    rule: str

    def note(self) -> str:
        """The rule."""
        return f"rule {self.rule} breached"


@dataclass(frozen=True)
class ConsentRecorded(Event):
    """Consent to `scope` was given, refused or withdrawn (`scope` "all": every scope)."""

    scope: str
    status: str

    @property
    def kind(self) -> str:
        """`consent-given`, `consent-refused` or `consent-withdrawn`."""
        return f"consent-{self.status}"

    def note(self) -> str:
        """The scope."""
        return self.scope
