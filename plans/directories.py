"""The partner and staff directories: who carries out steps, who manages and supervises."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time, timedelta
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from plans.durations import PositiveDuration
from plans.model import DOMAINS, STATISTICS_SCOPE, Plan, Slug, Strict, TimeZoneName

Language = Literal["en", "ru", "be"]
PartnerKind = Literal[
    "healthcare",
    "education",
    "employment",
    "social-service",
    "law-enforcement",
    "legal",
    "shelter",
    "ngo",
    "other",
]
Role = Literal["case-manager", "supervisor", "director"]
Approval = Literal["required", "not-required"]

_QUIET = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")


def check_quiet_hours(value: str) -> str:
    """Accept 'HH:MM-HH:MM' (it may wrap past midnight, e.g. 21:00-08:00)."""
    if not _QUIET.match(value):
        raise ValueError(f'{value!r} is not a time range like "21:00-08:00"')
    return value


QuietHours = Annotated[str, AfterValidator(check_quiet_hours)]


def quiet_bounds(value: str) -> tuple[time, time]:
    """The (start, end) local times of a quiet-hours range."""
    start, end = value.split("-")
    return time.fromisoformat(start), time.fromisoformat(end)


class Partner(Strict):
    """An organisation that carries out steps and receives messages about them."""

    name: str
    kind: PartnerKind
    region: str
    language: Language
    timezone: TimeZoneName | None = None
    quiet_hours: QuietHours | None = None
    notify: list[str] = Field(min_length=1)
    # Contract v3: a referral no one answered this long after it was sent is followed up
    # with the case manager.
    acknowledge_within: PositiveDuration = timedelta(days=3)


class PartnerDirectory(Strict):
    """The partner directory file."""

    partners: dict[str, Partner]


class StaffMember(Strict):
    """A case manager, supervisor or director of the programme."""

    name: str
    role: Role
    notify: list[str] = []
    # Extensions: how staff prefer to be told.
    language: Language = "en"
    timezone: TimeZoneName | None = None
    quiet_hours: QuietHours | None = None


class StaffDirectory(Strict):
    """The staff directory file."""

    default_supervisor: str | None = None
    staff: dict[str, StaffMember]
    # The programme's own settings (contract v2): whether plans wait for a supervisor's
    # approval (unset: the engine's REHAB_REQUIRE_APPROVAL), how long closed cases are kept.
    approval: Approval | None = None
    retention: PositiveDuration | None = None
    # Consent scopes the programme asks for beyond the domains and `statistics` (contract v3).
    consent_scopes: list[Slug] = []
    # The programme's time zone: reports cut their periods in it (unset: plans' default).
    timezone: TimeZoneName | None = None

    def known_scopes(self) -> list[str]:
        """Every consent scope a plan, a command or an import may name: the domains,
        `statistics` and the scopes the programme declares."""
        return list(dict.fromkeys([*DOMAINS, STATISTICS_SCOPE, *self.consent_scopes]))

    def with_role(self, role: Role) -> list[str]:
        """Ids of every staff member with this role."""
        return [sid for sid, member in self.staff.items() if member.role == role]


@dataclass(frozen=True)
class Directories:
    """The partner and staff directories a plan is checked against."""

    partners: PartnerDirectory
    staff: StaffDirectory
    partners_file: str = "partner directory"
    staff_file: str = "staff directory"
    # SHA-256 of each file's text as read: a change is recorded by its digests, never its text.
    partners_digest: str = ""
    staff_digest: str = ""

    def supervisor_of(self, plan: Plan) -> str | None:
        """The plan's supervisor: its own, else the directory's default."""
        return plan.supervisor or self.staff.default_supervisor
