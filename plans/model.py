"""The plan file as typed models: strict (unknown fields refused), exactly as the contract reads."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from plans.countries import EXAMPLE as COUNTRY_EXAMPLE
from plans.countries import is_country
from plans.dates import BoundedDate, LocalDateTime
from plans.durations import Duration, PositiveDuration, format_duration

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
    "child-labour",
    "organ-removal",
    "criminal",
    "other",
    "not-specified",
]
SexualExploitation = Literal[
    "prostitution", "pornography", "remote-interactive-services", "private-sexual-services"
]
# HTCDS 2.0 words (and older spellings) accepted on input, keyed in lower case, and the value
# each is stored as; the stored values themselves are accepted in any case too.
GENDER_WORDS = {
    "feminine": "female",
    "masculine": "male",
    "transgender": "other",
    "non-conforming": "other",
    "nonspecifiedunknown": "unknown",
}
EXPLOITATION_WORDS = {
    "sexualexploitation": "sexual",
    "forcedlabour": "labour",
    "servitude": "domestic-servitude",
    "forcedmarriage": "forced-marriage",
    "forcedbegging": "begging",
    "childlabour": "child-labour",
    "organremoval": "organ-removal",
    "notspecified": "not-specified",
}
SEXUAL_WORDS = {
    "remoteinteractiveservices": "remote-interactive-services",
    "privatesexualservices": "private-sexual-services",
}
STATISTICS_SCOPE = "statistics"  # may the person be counted in broken-down tables
CaseCode = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9-]{3,40}$")]
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=64)]

DEFAULT_TIMEZONE = "Europe/Minsk"
MAX_CHECK_INS = 10_000  # of one step: daily for 27 years, weekly for the 50 a duration allows
MAX_REMINDERS = 10  # before each check-in
MAX_STEPS = 500  # of one plan: the longest real plans have a few dozen


def check_timezone(name: str) -> str:
    """Accept an IANA time zone name such as Europe/Minsk."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"{name!r} is not an IANA time zone; e.g. Europe/Minsk or UTC") from exc
    return name


TimeZoneName = Annotated[str, AfterValidator(check_timezone)]


class Strict(BaseModel):
    """Every model of a file refuses fields it does not know."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _word(value: object, words: dict[str, str]) -> object:
    """A vocabulary word as stored: HTCDS spellings mapped, any case accepted."""
    if not isinstance(value, str):
        return value
    key = value.strip().lower()
    return words.get(key, key)


def _words(values: object, words: dict[str, str]) -> object:
    """Each word of a list as stored, duplicates dropped, order kept."""
    if not isinstance(values, list):
        return values
    return list(dict.fromkeys(_word(v, words) for v in values))


def _not_future(value: date | None) -> date | None:
    # Today somewhere on Earth may be tomorrow in UTC (up to UTC+14): allow one day ahead.
    if value is not None and value > datetime.now(UTC).date() + timedelta(days=1):
        raise ValueError("a date in the future; give the day it happened, e.g. 2011-03-14")
    return value


def _country(value: str) -> str:
    if not is_country(value):
        # The value is the person's: never quoted back, only what would be valid.
        raise ValueError(
            f"not an ISO 3166-1 alpha-2 country code; give two letters, e.g. {COUNTRY_EXAMPLE}"
        )
    return value


def _upper(value: object) -> object:
    return value.strip().upper() if isinstance(value, str) else value


Country = Annotated[str, BeforeValidator(_upper), AfterValidator(_country)]
PastDate = Annotated[BoundedDate, AfterValidator(_not_future)]


class Person(Strict):
    """Personal data: encrypted at rest; never sent to Prefect, partners or logs. Its
    vocabulary is HTCDS 2.0's, stored in the plan format's own words."""

    name: str | None = None
    gender: Gender = "unknown"
    birth_year: int | None = Field(default=None, ge=1900, le=2100)
    birth_date: PastDate | None = None
    contact: str | None = None
    minor_at_identification: bool | None = None
    exploitation: list[Exploitation] = []
    sexual_exploitation: list[SexualExploitation] = []
    exploitation_countries: list[Country] = []
    citizenship: Country | None = None
    identified_on: PastDate | None = None

    @model_validator(mode="before")
    @classmethod
    def _normalise(cls, data: Any) -> Any:
        """HTCDS words to the stored ones; `pornography` as an exploitation type is sexual
        exploitation of that sub-type, and any sub-type implies sexual exploitation."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        if "gender" in data:
            data["gender"] = _word(data["gender"], GENDER_WORDS)
        kinds = _words(data.get("exploitation", []), EXPLOITATION_WORDS)
        subtypes = _words(data.get("sexual_exploitation", []), SEXUAL_WORDS)
        if isinstance(kinds, list) and "pornography" in kinds:
            kinds = [("sexual" if k == "pornography" else k) for k in kinds]
            kinds = list(dict.fromkeys(kinds))
            if isinstance(subtypes, list) and "pornography" not in subtypes:
                subtypes = [*subtypes, "pornography"]
        if isinstance(kinds, list) and isinstance(subtypes, list) and subtypes:
            kinds = list(dict.fromkeys([*kinds, "sexual"]))
        if "exploitation" in data or kinds:
            data["exploitation"] = kinds
        if "sexual_exploitation" in data or subtypes:
            data["sexual_exploitation"] = subtypes
        if isinstance(data.get("exploitation_countries"), list):
            data["exploitation_countries"] = list(
                dict.fromkeys(_upper(c) for c in data["exploitation_countries"])
            )
        return data

    @field_validator("birth_date")
    @classmethod
    def _agrees_with_birth_year(cls, value: date | None, info: ValidationInfo) -> date | None:
        year = info.data.get("birth_year")
        if value is not None and year is not None and value.year != year:
            raise ValueError("does not agree with birth_year; give one of them, or both alike")
        return value


class CheckIns(Strict):
    """Recurring check-ins while a step is open."""

    every: PositiveDuration
    first: Duration | None = None
    count: int | None = Field(default=None, ge=1, le=MAX_CHECK_INS)
    remind: list[Duration] = Field(default=[], max_length=MAX_REMINDERS)
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
    urgent: StrictBool = False  # contract v3: its referral ignores the partner's quiet hours

    @field_validator("check_ins")
    @classmethod
    def _bounded_check_ins(cls, value: CheckIns | None, info: ValidationInfo) -> Any:
        """A step's duration may hold only so many check-ins: every 1s for 50 years would
        have the engine and `simulate` materialise more than a billion."""
        duration = info.data.get("duration")
        if value is not None and value.count is None and duration is not None:
            held = max(0, (duration - value.first_after) // value.every + 1)
            if held > MAX_CHECK_INS:
                raise ValueError(
                    f"every {format_duration(value.every)} within the step's duration "
                    f"{format_duration(duration)} makes {held:,} check-ins, more than "
                    f"{MAX_CHECK_INS:,}: give a longer every, a shorter duration or a count"
                )
        return value

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
    steps: list[Step] = Field(min_length=1, max_length=MAX_STEPS)
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

    @property
    def recordable_scopes(self) -> list[str]:
        """The scopes consent may be recorded for: those its steps need, and `statistics`,
        which every plan may record though no step waits for it."""
        return list(dict.fromkeys([*self.consent_scopes, STATISTICS_SCOPE]))

    def without_person(self) -> Plan:
        """The plan with personal data removed: what may be stored unencrypted or shown."""
        return self.model_copy(update={"person": None})
