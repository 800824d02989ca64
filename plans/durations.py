"""Durations as case managers write them: 30s, 15m, 2h, 14d, 2w, or ISO 8601 (P14D, PT30S)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer

_SHORT = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_ISO = re.compile(
    r"^P(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?"
    r"(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
EXAMPLE = "a duration like 30s, 15m, 2h, 14d, 2w or ISO 8601 P14D, PT30S, P1DT2H"


def parse_duration(value: object) -> timedelta:
    """Turn '14d' or 'P14D' into a timedelta; raise ValueError naming good examples otherwise."""
    if isinstance(value, timedelta):
        return value
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not {EXAMPLE} (give the unit: 30 seconds is 30s)")
    short = _SHORT.match(value)
    if short:
        return timedelta(seconds=int(short.group(1)) * _UNIT_SECONDS[short.group(2)])
    iso = _ISO.match(value.strip().upper())
    if iso and any(iso.groupdict().values()) and not value.strip().upper().endswith("T"):
        parts = {k: float(v) if v else 0.0 for k, v in iso.groupdict().items()}
        return timedelta(
            weeks=parts["w"],
            days=parts["d"],
            hours=parts["h"],
            minutes=parts["m"],
            seconds=parts["s"],
        )
    if re.match(r"^P[^T]*\d[YM]", value.strip().upper()):  # Y or M before any T
        raise ValueError(f"{value!r}: months and years have no fixed length; use days, e.g. P30D")
    raise ValueError(f"{value!r} is not {EXAMPLE}")


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


def _non_negative(value: object) -> timedelta:
    parsed = parse_duration(value)
    if parsed < timedelta(0):
        raise ValueError(f"{value!r} is negative; durations count forward, e.g. 2d")
    return parsed


Duration = Annotated[
    timedelta,
    BeforeValidator(_non_negative),
    PlainSerializer(format_duration, return_type=str),
]
