"""The report's rules on small hand-made inputs: periods in the programme's zone, reading a
person block into codes, the threshold, suppression, the difference rule and the charts."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from plans.errors import BadOption, ThresholdTooLow
from report import help_given
from report.counting import Window
from report.disclosure import publish
from report.facts import Episode, Person, StepFact
from report.help_given import steps_by_help
from report.periods import monthly, quarterly, yearly
from report.release import build, check_threshold
from report.render_html import bar_chart
from report.tables import Cell, Prior, Table
from report.who import who
from tests.disclosure_check import recoverable

T = 11


def test_periods_are_cut_in_the_programmes_zone() -> None:
    november = monthly("2026-11", "Europe/Minsk")
    assert (november.start, november.end) == (date(2026, 11, 1), date(2026, 12, 1))
    assert november.start_utc == datetime(2026, 10, 31, 21, 0, tzinfo=UTC)
    q4 = quarterly("2026-q4", "UTC")
    assert (q4.label, q4.start, q4.end) == ("2026-Q4", date(2026, 10, 1), date(2027, 1, 1))
    assert yearly("2026", "UTC").contains(q4) and q4.contains(monthly("2026-12", "UTC"))
    for bad in ("2026-13", "26-11", "2026-1"):
        with pytest.raises(BadOption, match="a month like 2026-11"):
            monthly(bad, "UTC")


def test_periods_are_bounded_to_the_years_1900_to_2200() -> None:
    for make, value in ((monthly, "1899-12"), (quarterly, "2201-Q1"), (yearly, "0001")):
        with pytest.raises(BadOption, match="from 1900"):
            make(value, "Europe/Minsk")
    first, last = monthly("1900-01", "Europe/Minsk"), yearly("2200", "Europe/Minsk")
    assert first.start_utc < last.end_utc, "the bounds themselves cut without overflow"


def test_a_person_block_in_htcds_words_reads_as_the_same_codes() -> None:
    on = date(2026, 5, 1)
    stored = who(
        {"gender": "female", "birth_year": 1990, "exploitation": ["sexual", "labour"]},
        identified=on,
    )
    htcds = who(
        {
            "gender": "Feminine",
            "birth_year": 1990,
            "exploitation": ["SexualExploitation", "ForcedLabour"],
        },
        identified=on,
    )
    assert stored == htcds
    assert stored.exploitation == ("SexualExploitation", "ForcedLabour") and stored.group == "Women"
    porn = who({"exploitation": ["pornography"]}, identified=on)
    assert (porn.exploitation, porn.sexual) == (("SexualExploitation",), ("Pornography",))
    assert who({"gender": "transgender"}, identified=on).gender == "Other"
    assert who(None, identified=on).exploitation == ("NotSpecified",)
    assert who({"exploitation_countries": ["pl", "XX1"]}, identified=on).countries == ("PL",)


def test_minor_at_identification_is_told_only_where_the_data_can_tell() -> None:
    on = date(2026, 5, 1)
    assert who({"birth_year": 2008}, identified=on).majority == "Unknown", "17 or 18: cannot tell"
    assert who({"birth_year": 2009}, identified=on).majority == "Minor"
    assert who({"birth_year": 2007}, identified=on).majority == "Adult"
    assert who({"birth_date": "2008-05-02"}, identified=on).majority == "Minor"
    assert who({"birth_date": "2008-05-01"}, identified=on).majority == "Adult"
    assert (
        who({"birth_year": 1990, "minor_at_identification": True}, identified=on).majority
        == "Minor"
    )
    girl = who({"gender": "female", "birth_date": "2012-01-01"}, identified=on)
    assert girl.group == "Girls"


def test_the_threshold_may_be_raised_never_lowered() -> None:
    with pytest.raises(ThresholdTooLow, match="below 11: it may be raised, never lowered"):
        check_threshold(10)
    assert check_threshold(11) == 11
    period = monthly("2026-11", "UTC")
    with pytest.raises(ThresholdTooLow):
        build([], period, threshold=5, release_id="R")


def _grid() -> Table:
    """Two groups x two kinds, each column adding up to its total."""
    t = Table("X1", "period", "G", "K", ["a", "b", "c", "Total"], ["k1", "k2"])
    t.true = {
        ("a", "k1"): 40,
        ("b", "k1"): 3,
        ("c", "k1"): 25,
        ("Total", "k1"): 68,
        ("a", "k2"): 30,
        ("b", "k2"): 20,
        ("c", "k2"): 12,
        ("Total", "k2"): 62,
    }
    for k in ("k1", "k2"):
        t.add_sum([(g, k) for g in ("a", "b", "c")], ("Total", k))
    t.grid_lines(cols=False)
    return t


def test_a_lone_small_cell_takes_a_second_with_it_and_cannot_be_worked_out() -> None:
    t = _grid()
    cells = {c.key: c for c in publish(t, T)}
    hidden = sorted(k for k, c in cells.items() if c.flag == "c")
    assert ("b", "k1") in hidden and len(hidden) >= 2
    assert recoverable(t, list(cells.values())) == []
    assert sum(t.true[k] for k in hidden if k[1] == "k1") >= T


def test_the_exact_check_finds_a_cell_that_primary_suppression_alone_gives_away() -> None:
    t = _grid()
    naive = [
        Cell("X1", "period", "G", r, "K", c, None if 0 < v < T else v, "c" if 0 < v < T else "ok")
        for (r, c), v in t.true.items()
    ]
    assert recoverable(t, naive) == [("b", "k1")], "68 - 40 - 25 = 3"


def test_a_cumulative_cell_that_moved_by_fewer_than_the_threshold_carries_its_last_value() -> None:
    t = Table("A1", "cumulative", "M", "Count", ["Identified", "Girls", "Adults"], ["People"])
    t.true = {("Identified", "People"): 414, ("Girls", "People"): 69, ("Adults", "People"): 345}
    t.add_sum([("Girls", "People"), ("Adults", "People")], ("Identified", "People"))
    last = Prior(
        "R-oct",
        "2000-01-01",
        "2026-11-01",
        {
            ("Identified", "People"): (413, "ok", None),
            ("Girls", "People"): (68, "ok", None),
            ("Adults", "People"): (345, "ok", None),
        },
    )
    cells = {c.code1: c for c in publish(t, T, last=last)}
    assert (cells["Identified"].count, cells["Identified"].flag, cells["Identified"].as_of) == (
        413,
        "carried",
        "2026-10",
    )
    assert (cells["Girls"].count, cells["Girls"].flag) == (68, "carried")
    assert cells["Adults"].count == 345, "unchanged: shown as it is"
    far = Prior(
        "R-old", "2000-01-01", "2026-06-01", {k: (v - 30, "ok", None) for k, v in t.true.items()}
    )
    assert all(c.flag == "ok" for c in publish(t, T, last=far))


def test_a_period_cell_that_differs_by_fewer_than_the_threshold_from_one_inside_it_is_hidden() -> (
    None
):
    t = Table("A1", "period", "M", "Count", ["New"], ["People"])
    t.true = {("New", "People"): 40}
    month = Prior("R-nov", "2026-11-01", "2026-12-01", {("New", "People"): (35, "ok", None)})
    assert publish(t, T, priors=[month])[0].flag == "c", "40 - 35: five people of one month"
    other = Prior("R-oct", "2026-10-01", "2026-11-01", {("New", "People"): (12, "ok", None)})
    assert publish(t, T, priors=[other])[0].flag == "ok"


def test_a_hidden_cell_draws_no_bar() -> None:
    cells = [
        Cell("C1", "period", "spl_Type", "Health", "StepStatus", "Started", 25, "ok"),
        Cell("C1", "period", "spl_Type", "Legal", "StepStatus", "Started", None, "c"),
    ]
    svg = bar_chart(cells, "en")
    assert svg.count("<rect") == 1 and "Legal" not in svg


def test_a_step_completed_with_its_partner_never_told_is_not_counted_as_help_given() -> None:
    at = datetime(2026, 11, 10, tzinfo=UTC)
    told = StepFact("SocialCare", "shelter", at, at, "completed")
    never_told = StepFact("SocialCare", "shelter", at, at, "completed", delivered=False)
    person = Person(at, None, steps=(told, never_told))
    window = Window("cumulative", None, datetime(2026, 12, 1, tzinfo=UTC))
    c1 = steps_by_help([person], window)
    assert c1.true[("SocialCare", "Completed")] == 1
    assert c1.true[("SocialCare", "NotDelivered")] == 1
    assert c1.true[("Total", "NotDelivered")] == 1


def test_a_plan_completed_with_no_partner_ever_told_is_counted_as_not_delivered() -> None:
    at = datetime(2026, 11, 10, tzinfo=UTC)
    ended = Episode(at, 1, ended_at=at, outcome="completed", not_delivered=True)
    person = Person(at, None, episodes=(ended, Episode(at, 2, ended_at=at, outcome="completed")))
    d1 = help_given.plans([person], Window("cumulative", None, datetime(2026, 12, 1, tzinfo=UTC)))
    assert d1.true[("Completed", "Plans")] == 2
    assert d1.true[("CompletedNotDelivered", "Plans")] == 1
