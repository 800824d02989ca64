from datetime import timedelta

import pytest

from plans.durations import format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30s", timedelta(seconds=30)),
        ("15m", timedelta(minutes=15)),
        ("2h", timedelta(hours=2)),
        ("14d", timedelta(days=14)),
        ("2w", timedelta(days=14)),
        ("P14D", timedelta(days=14)),
        ("PT30S", timedelta(seconds=30)),
        ("P1DT2H", timedelta(days=1, hours=2)),
        ("P2W", timedelta(weeks=2)),
        ("PT1H30M", timedelta(hours=1, minutes=30)),
    ],
)
def test_short_and_iso_forms_are_read(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["14 days", "2x", "P", "PT", "", "-3d", "1.5d"])
def test_a_bad_duration_shows_a_good_example(text: str) -> None:
    with pytest.raises(ValueError, match=r"30s, 15m, 2h, 14d, 2w or ISO 8601"):
        parse_duration(text)


def test_a_bare_number_asks_for_a_unit() -> None:
    with pytest.raises(ValueError, match="give the unit"):
        parse_duration(30)


def test_months_are_refused_because_their_length_varies() -> None:
    with pytest.raises(ValueError, match="no fixed length"):
        parse_duration("P1M")


@pytest.mark.parametrize("text", ["30s", "90s", "15m", "2h", "1d", "2w", "36h"])
def test_formatting_round_trips(text: str) -> None:
    assert parse_duration(format_duration(parse_duration(text))) == parse_duration(text)
