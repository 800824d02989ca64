"""The report's C5, partners' responsiveness by partner kind: the share of referrals answered,
the median hours to accept, the share of check-ins the partner reported, under the same
disclosure control as every table (a share or median only with n at the threshold)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from report.facts import CheckInFact, Episode, Person, StepFact
from report.periods import since_start
from report.release import Release, build
from report.tables import Cell

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
T = 11
START = NOW - timedelta(days=30)


def someone(kind: str, *, hours: float | None, reported: bool) -> Person:
    """A person with one referral to a partner of `kind`, accepted after `hours` (None: no
    answer), and one attended check-in, reported by the partner or not."""
    step = StepFact(
        "Health",
        kind,
        START,
        None,
        "open",
        accepted=None if hours is None else True,
        answered_at=None if hours is None else START + timedelta(hours=hours),
    )
    check_in = CheckInFact("Health", START + timedelta(days=7), "attended", kind, reported)
    return Person(
        START - timedelta(days=1),
        None,
        (Episode(START, 1),),
        steps=(step,),
        check_ins=(check_in,),
    )


def c5(r: Release, kind: str, column: str) -> Cell:
    return next(c for c in r.table("C5", "cumulative") if (c.code1, c.code2) == (kind, column))


def report(people: list[Person]) -> Release:
    return build(
        people,
        since_start(NOW, "Europe/Minsk"),
        threshold=T,
        release_id="R1",
        partner_kinds=["healthcare", "shelter"],
    )


def test_a_kind_with_enough_referrals_shows_its_shares_and_median() -> None:
    people = [someone("healthcare", hours=h, reported=h < 13) for h in range(2, 16)]
    people += [someone("healthcare", hours=None, reported=False) for _ in range(6)]
    r = report(people)
    assert c5(r, "healthcare", "Referred").count == 20
    assert c5(r, "healthcare", "Answered").count == 14
    assert c5(r, "healthcare", "ShareAnsweredPct").count == 70.0
    assert c5(r, "healthcare", "Accepted").count == 14
    assert c5(r, "healthcare", "MedianHoursToAccept").count == 8.5
    assert c5(r, "healthcare", "SharePartnerReportedPct").count == 55.0


def test_a_small_kind_is_hidden_and_says_nothing_of_its_speed() -> None:
    people = [someone("healthcare", hours=3, reported=True) for _ in range(20)]
    people += [someone("shelter", hours=1, reported=True) for _ in range(3)]
    r = report(people)
    for column in ("Referred", "Answered", "Accepted", "CheckIns", "PartnerReported"):
        assert c5(r, "shelter", column).count is None
        assert c5(r, "shelter", column).flag == "c"
    for column in ("ShareAnsweredPct", "MedianHoursToAccept", "SharePartnerReportedPct"):
        assert c5(r, "shelter", column).count is None
    # Its referrals are the same count C2 publishes as started: never shown one way there
    # and another here.
    c2 = next(
        c for c in r.table("C2", "cumulative") if (c.code1, c.code2) == ("shelter", "Started")
    )
    assert (c2.count, c2.flag) == (c5(r, "shelter", "Referred").count, "c")
