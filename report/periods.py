"""Reporting periods, cut in the programme's time zone: a month, a quarter, a year, or
everything since the programme began."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Literal
from zoneinfo import ZoneInfo

from plans.errors import BadOption

Kind = Literal["monthly", "quarterly", "yearly", "since-start"]
EPOCH = date(2000, 1, 1)  # before any case; since-start tables begin here
FIRST_YEAR, LAST_YEAR = 1900, 2200  # the dates a plan or an import may hold (contract v3)
MONTH = f"a month like 2026-11, from {FIRST_YEAR}-01 to {LAST_YEAR}-12"
QUARTER = f"a quarter like 2026-Q4, from {FIRST_YEAR}-Q1 to {LAST_YEAR}-Q4"
YEAR = f"a year like 2026, from {FIRST_YEAR} to {LAST_YEAR}"


def _year(option: str, value: str, year: int, example: str) -> int:
    """The period's year, or BadOption saying which years are valid: one outside them
    (0001, 9999) would overflow the time arithmetic that cuts the period."""
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise BadOption(option, value, example)
    return year


@dataclass(frozen=True)
class Period:
    """Local dates [start, end): the period's first day and the day after its last."""

    kind: Kind
    label: str
    start: date
    end: date
    tz: str

    def _at(self, day: date) -> datetime:
        return datetime.combine(day, time(0), ZoneInfo(self.tz)).astimezone(UTC)

    @property
    def start_utc(self) -> datetime:
        """The first moment of the period, in UTC."""
        return self._at(self.start)

    @property
    def end_utc(self) -> datetime:
        """The first moment after the period, in UTC."""
        return self._at(self.end)

    @property
    def has_period_basis(self) -> bool:
        """Since-start has only the cumulative basis: its period is everything."""
        return self.kind != "since-start"

    def contains(self, other: Period) -> bool:
        """Whether `other` lies inside this period (or is it)."""
        return self.start <= other.start and other.end <= self.end

    @property
    def last_month(self) -> str:
        """YYYY-MM of the period's last day: how a carried value's `as of` reads."""
        last = date.fromordinal(self.end.toordinal() - 1)
        return f"{last:%Y-%m}"


def _month_after(year: int, month: int) -> date:
    return date(year + month // 12, month % 12 + 1, 1)


def monthly(value: str, tz: str) -> Period:
    """`YYYY-MM`."""
    match = re.fullmatch(r"(\d{4})-(0[1-9]|1[0-2])", value.strip())
    if not match:
        raise BadOption("--month", value, MONTH)
    year, month = _year("--month", value, int(match[1]), MONTH), int(match[2])
    return Period(
        "monthly", f"{year}-{month:02d}", date(year, month, 1), _month_after(year, month), tz
    )


def quarterly(value: str, tz: str) -> Period:
    """`YYYY-Qn`."""
    match = re.fullmatch(r"(\d{4})-[Qq]([1-4])", value.strip())
    if not match:
        raise BadOption("--quarter", value, QUARTER)
    year = _year("--quarter", value, int(match[1]), QUARTER)
    quarter = int(match[2])
    first = 3 * (quarter - 1) + 1
    return Period(
        "quarterly", f"{year}-Q{quarter}", date(year, first, 1), _month_after(year, first + 2), tz
    )


def yearly(value: str, tz: str) -> Period:
    """`YYYY`."""
    if not re.fullmatch(r"\d{4}", value.strip()):
        raise BadOption("--year", value, YEAR)
    year = _year("--year", value, int(value), YEAR)
    return Period("yearly", str(year), date(year, 1, 1), date(year + 1, 1, 1), tz)


def since_start(now: datetime, tz: str) -> Period:
    """From the programme's beginning to the end of today (local)."""
    today = now.astimezone(ZoneInfo(tz)).date()
    return Period("since-start", "since-start", EPOCH, date.fromordinal(today.toordinal() + 1), tz)


def in_future(period: Period, now: datetime) -> bool:
    """A period that has not begun yet has nothing to report."""
    return period.start_utc > now
