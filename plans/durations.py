"""Durations as case managers write them: 30s, 15m, 2h, 14d, 2w, or ISO 8601 (P14D, PT30S).
Every duration rehab reads, in a file or a setting, goes through `parse_duration`, which
bounds it: at most 50 years (contract v3), so no sum of them overflows a date."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer

_SHORT = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_ISO = re.compile(
    r"^P(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?"
    r"(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_ISO_SECONDS = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1}
EXAMPLE = "a duration like 30s, 15m, 2h, 14d, 2w or ISO 8601 P14D, PT30S, P1DT2H"
MAX_DURATION = timedelta(days=18_262)  # 50 years of 365.25 days (contract v3)
LONGEST = "at most 50 years (18262d)"
_MAX_DIGITS = 12  # more digits than any duration within the bound needs, in any unit


def _seconds(value: str) -> Decimal | None:
    """The exact number of seconds `value` spells, or None if it is not a duration."""
    short = _SHORT.match(value)
    if short:
        return Decimal(short.group(1)) * _UNIT_SECONDS[short.group(2)]
    text = value.strip().upper()
    iso = _ISO.match(text)
    if iso and any(iso.groupdict().values()) and not text.endswith("T"):
        try:
            return sum(
                (Decimal(v) * _ISO_SECONDS[k] for k, v in iso.groupdict().items() if v),
                Decimal(0),
            )
        except InvalidOperation:
            return None
    return None


def parse_duration(value: object) -> timedelta:
    """Turn '14d' or 'P14D' into a timedelta of at most 50 years; raise ValueError naming
    good examples otherwise."""
    if isinstance(value, timedelta):
        return bounded(value)
    if not isinstance(value, str):
        raise ValueError(f"{_quoted(value)} is not {EXAMPLE} (give the unit: 30 seconds is 30s)")
    if any(len(run) > _MAX_DIGITS for run in re.findall(r"\d+", value)):
        # Checked on the digits before any arithmetic: a number of seventeen digits would
        # overflow a timedelta (or take a float to infinity) before its size could be judged.
        raise ValueError(f"{_quoted(value)} is too long: a duration is {LONGEST}")
    seconds = _seconds(value)
    if seconds is not None:
        if seconds > Decimal(int(MAX_DURATION.total_seconds())):
            raise ValueError(f"{_quoted(value)} is too long: a duration is {LONGEST}")
        return timedelta(seconds=float(seconds))
    if re.match(r"^P[^T]*\d[YM]", value.strip().upper()):  # Y or M before any T
        raise ValueError(
            f"{_quoted(value)}: months and years have no fixed length; use days, e.g. P30D"
        )
    raise ValueError(f"{_quoted(value)} is not {EXAMPLE}")


def _quoted(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"


def bounded(value: timedelta) -> timedelta:
    """A timedelta within the bound: not negative, at most 50 years."""
    if value < timedelta(0):
        raise ValueError(f"{format_duration(-value)} back is negative; durations count forward")
    if value > MAX_DURATION:
        raise ValueError(f"{format_duration(value)} is too long: a duration is {LONGEST}")
    return value


def format_duration(value: timedelta) -> str:
    """The shortest exact short form: 1209600 seconds is '2w', 90 seconds is '90s'."""
    seconds = int(value.total_seconds())
    if seconds != value.total_seconds():
        return f"{value.total_seconds()}s"
    for unit in ("w", "d", "h", "m"):
        size = _UNIT_SECONDS[unit]
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _positive(value: object) -> timedelta:
    parsed = parse_duration(value)
    if parsed <= timedelta(0):
        raise ValueError(
            f"{_quoted(value)} is not positive: a recurrence or interval must be longer "
            "than zero, e.g. 7d or 30s"
        )
    return parsed


Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str),
]
"""Any duration of a file or setting: from zero to 50 years."""

PositiveDuration = Annotated[
    timedelta,
    BeforeValidator(_positive),
    PlainSerializer(format_duration, return_type=str),
]
"""A recurrence or an interval something waits between two looks: more than zero."""
