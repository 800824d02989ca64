from datetime import timedelta

import pytest
from pydantic import ValidationError

from flows.settings import load_settings
from plans.durations import format_duration, parse_duration
from plans.errors import InvalidSettings
from plans.model import CheckIns


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


@pytest.mark.parametrize(
    "text", ["99999999999999999w", "2610w", "18263d", "P99999999999999999D", "PT9999999999S"]
)
def test_a_duration_over_fifty_years_is_refused_naming_the_bound(text: str) -> None:
    with pytest.raises(ValueError, match=r"too long: a duration is at most 50 years \(18262d\)"):
        parse_duration(text)


def test_fifty_years_is_the_longest_duration_and_zero_the_shortest() -> None:
    assert parse_duration("18262d") == timedelta(days=18262)
    assert parse_duration("0s") == timedelta(0)


def test_a_duration_given_as_a_timedelta_is_bounded_too() -> None:
    with pytest.raises(ValueError, match="at most 50 years"):
        parse_duration(timedelta(days=20000))
    with pytest.raises(ValueError, match="negative"):
        parse_duration(timedelta(seconds=-1))


@pytest.mark.parametrize("text", ["0s", "P0D", "PT0S"])
def test_a_recurrence_of_zero_is_refused_as_not_positive(text: str) -> None:
    with pytest.raises(ValidationError, match="not positive"):
        CheckIns.model_validate({"every": text})


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("REHAB_CLOCK_INTERVAL", "0s", "REHAB_CLOCK_INTERVAL: '0s' is not positive"),
        ("REHAB_CLOCK_INTERVAL", "99999999999999999w", "REHAB_CLOCK_INTERVAL: '9999"),
        ("REHAB_STALE_RUN_AFTER", "0s", "REHAB_STALE_RUN_AFTER: '0s' is not positive"),
        ("REHAB_RUNNER_POLL", "P0D", "REHAB_RUNNER_POLL: 'P0D' is not positive"),
        ("REHAB_SEND_RETRY_BASE", "0s", "REHAB_SEND_RETRY_BASE: '0s' is not positive"),
        ("REHAB_SEND_RETRY_CAP", "2610w", "REHAB_SEND_RETRY_CAP: '2610w' is too long"),
    ],
)
def test_a_duration_setting_of_zero_or_over_fifty_years_is_refused_naming_it(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, says: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(InvalidSettings) as refused:
        load_settings()
    assert says in str(refused.value)
