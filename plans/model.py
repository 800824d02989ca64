"""The plan file as typed models: strict (unknown fields refused), exactly as the contract reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
)

from plans.durations import Duration

Domain = Literal[
    "psychological", "medical", "legal", "financial", "employment", "housing", "humanitarian"
]
DOMAINS: tuple[str, ...] = Domain.__args__  # type: ignore[attr-defined]  # Literal keeps its values here
Gender = Literal["female", "male", "other", "unknown"]
Exploitation = Literal[
    "sexual",
    "labour",
    "domestic-servitude",
    "forced-marriage",
    "begging",
    "criminal",
    "pornography",
    "other",
]

CaseCode = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9-]{3,40}$")]
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=64)]

DEFAULT_TIMEZONE = "Europe/Minsk"


def check_timezone(name: str) -> str:
    """Accept an IANA time zone name such as Europe/Minsk."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"{name!r} is not an IANA time zone; e.g. Europe/Minsk or UTC") from exc
    return name


TimeZoneName = Annotated[str, AfterValidator(check_timezone)]


def _local_datetime(value: object) -> object:
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.strip())
        except ValueError as exc:
            raise ValueError(f"{value!r} is not a date and time like 2026-12-01T09:00") from exc
    return value


LocalDateTime = Annotated[datetime, BeforeValidator(_local_datetime)]


class Strict(BaseModel):
    """Every model of a file refuses fields it does not know."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Person(Strict):
    """Personal data: encrypted at rest; never sent to Prefect, partners or logs."""

    name: str | None = None
    gender: Gender = "unknown"
    birth_year: int | None = Field(default=None, ge=1900, le=2100)
    contact: str | None = None
    exploitation: list[Exploitation] = []


class CheckIns(Strict):
    """Recurring check-ins while a step is open."""

    every: Duration
    first: Duration | None = None
    count: int | None = Field(default=None, ge=1)
    remind: list[Duration] = []
    grace: Duration | None = None

    @property
    def first_after(self) -> timedelta:
        """Delay from the step's start to its first check-in."""
        return self.every if self.first is None else self.first

    @property
    def grace_period(self) -> timedelta:
        """How long after a check-in an outcome may come before it counts as missed."""
        if self.grace is not None:
            return self.grace
        return min(timedelta(days=1), self.every)


class Step(Strict):
    """One piece of help, carried out by one partner."""

    id: Slug
    domain: Domain
    title: str = Field(min_length=1)
    partner: str
    start: Duration = timedelta(0)
    after: list[str] = []
    duration: Duration | None = None
    due: Duration | None = None
    consent: list[Slug] = []
    check_ins: CheckIns | None = None

    @property
    def open_ended(self) -> bool:
        """Stays open until someone completes it by hand."""
        finite_count = self.check_ins is not None and self.check_ins.count is not None
        return self.duration is None and not finite_count


class Plan(Strict):
    """A person's individual rehabilitation plan."""

    case: CaseCode
    manager: str
    supervisor: str | None = None
    timezone: TimeZoneName = DEFAULT_TIMEZONE
    start: LocalDateTime | None = None
    rules: list[Slug] = []
    person: Person | None = None
    steps: list[Step] = Field(min_length=1)
    # Extensions to the v1 contract:
    template: Slug | None = None
    escalate_after: Duration = timedelta(days=7)

    @property
    def tz(self) -> ZoneInfo:
        """The plan's time zone."""
        return ZoneInfo(self.timezone)

    def start_utc(self, default: datetime) -> datetime:
        """The plan's start in UTC: `start` read in the plan's time zone, else `default`."""
        if self.start is None:
            return default.astimezone(UTC)
        local = self.start if self.start.tzinfo else self.start.replace(tzinfo=self.tz)
        return local.astimezone(UTC)

    def step(self, step_id: str) -> Step:
        """The step with this id; KeyError if there is none."""
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(step_id)

    @property
    def consent_scopes(self) -> list[str]:
        """Every consent scope some step needs, in order of first use."""
        return list(dict.fromkeys(s for step in self.steps for s in step.consent))

    def without_person(self) -> Plan:
        """The plan with personal data removed: what may be stored unencrypted or shown."""
        return self.model_copy(update={"person": None})
