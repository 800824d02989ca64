"""What happens to one step of a case, as typed domain events (the case's own are in
events.py): every field an id, a number or a fixed reason, never personal data."""

from __future__ import annotations

from dataclasses import dataclass

from casework.domain.events import Event


@dataclass(frozen=True)
class StepEvent(Event):
    """An event about one step."""

    step_id: str

    @property
    def step(self) -> str | None:
        """The step it is about."""
        return self.step_id


@dataclass(frozen=True)
class ConsentNeeded(StepEvent):
    """A step may start but waits for consent to these scopes."""

    KIND = "consent-needed"
    scopes: tuple[str, ...]

    def facts(self) -> dict[str, str | int]:
        """The scopes as one comma-separated value."""
        return {"step": self.step_id, "scopes": ",".join(self.scopes)}

    def note(self) -> str:
        """The scopes."""
        return ",".join(self.scopes)


@dataclass(frozen=True)
class StepAdded(StepEvent):
    """An amendment added the step."""

    KIND = "step-added"


@dataclass(frozen=True)
class StepStarted(StepEvent):
    """The step opened: its partner is referred."""

    KIND = "step-started"


@dataclass(frozen=True)
class StepCompleted(StepEvent):
    """The step completed (its duration ended, every check-in done, or by hand)."""

    KIND = "step-completed"
    reason: str

    def note(self) -> str:
        """Why."""
        return self.reason


@dataclass(frozen=True)
class StepSkipped(StepEvent):
    """The step will not happen (a prerequisite failed, or consent refused)."""

    KIND = "step-skipped"
    reason: str

    def note(self) -> str:
        """Why."""
        return self.reason


@dataclass(frozen=True)
class StepCancelled(StepEvent):
    """An open step ended early; its partner is told, never why."""

    KIND = "step-cancelled"
    reason: str

    def note(self) -> str:
        """Why."""
        return self.reason


@dataclass(frozen=True)
class StepRescheduled(StepEvent):
    """An amendment changed an open step: its partner is told what changed."""

    KIND = "step-rescheduled"


@dataclass(frozen=True)
class StepOverdue(StepEvent):
    """The step is past its due (level 1, the case manager told) or still is `escalate_after`
    later (level 2, the supervisor told)."""

    KIND = "step-overdue"
    level: int


@dataclass(frozen=True)
class CheckInDue(StepEvent):
    """Check-in number `occurrence` (from 0) of the step has come."""

    KIND = "check-in-due"
    occurrence: int


@dataclass(frozen=True)
class CheckInMissed(StepEvent):
    """Nobody recorded an outcome within the grace period; `streak` misses in a row."""

    KIND = "check-in-missed"
    occurrence: int
    streak: int

    def note(self) -> str:
        """The streak."""
        return f"streak={self.streak}"


@dataclass(frozen=True)
class CheckInNotFollowedUp(StepEvent):
    """A miss nobody followed up within another grace period: the supervisor is told."""

    KIND = "check-in-not-followed-up"
    occurrence: int


@dataclass(frozen=True)
class CheckInRecorded(StepEvent):
    """A person recorded how check-in `occurrence` went."""

    KIND = "check-in-recorded"
    occurrence: int
    outcome: str

    def note(self) -> str:
        """The outcome."""
        return self.outcome
