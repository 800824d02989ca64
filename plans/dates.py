"""Dates and times as files give them, bounded to 1900-2200 (contract v3): a date outside
that range is a typo, and one near year 1 or 9999 makes time arithmetic overflow."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import BeforeValidator

EARLIEST = date(1900, 1, 1)
LATEST = date(2200, 12, 31)
RANGE = "between 1900 and 2200"


def _in_range(day: date) -> None:
    if not EARLIEST <= day <= LATEST:
        # Never quotes the value: a date may be the person's (a birth date).
        raise ValueError(f"out of range: give a date {RANGE}")


def parse_date(value: object) -> date:
    """A day written YYYY-MM-DD that exists, 1900-2200; ValueError saying what is valid
    (never quoting the value, which may be personal)."""
    if isinstance(value, datetime):
        value = value.date() if value.time() == datetime.min.time() else value
    if isinstance(value, date) and not isinstance(value, datetime):
        _in_range(value)
        return value
    if isinstance(value, str):
        try:
            day = date.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(
                f"not a day that exists: give one like 2011-03-14 (YYYY-MM-DD, {RANGE})"
            ) from None
        _in_range(day)
        return day
    raise ValueError(f"not a date: give one like 2011-03-14 (YYYY-MM-DD, {RANGE})")


def parse_datetime(value: object) -> datetime:
    """A date and time like 2026-12-01T09:00 (a zone offset optional), 1900-2200."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(
                f"not a date and time that exists: give one like 2026-12-01T09:00 ({RANGE})"
            ) from None
    elif isinstance(value, date) and not isinstance(value, datetime):
        value = datetime.combine(value, datetime.min.time())
    if not isinstance(value, datetime):
        raise ValueError(f"not a date and time: give one like 2026-12-01T09:00 ({RANGE})")
    _in_range(value.date())
    return value


BoundedDate = Annotated[date, BeforeValidator(parse_date)]
LocalDateTime = Annotated[datetime, BeforeValidator(parse_datetime)]


NOON = time(12)


def moment(day: date, tz: ZoneInfo) -> datetime:
    """The instant a day is kept as: noon there, in UTC (imported and reported days)."""
    return datetime.combine(day, NOON, tzinfo=tz).astimezone(UTC)
