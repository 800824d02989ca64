"""Section C5: partners' responsiveness, per partner kind (never a partner's name): the share
of referrals answered through their links, the median hours to accept, and the share of
check-ins the partner reported. Counts under the same disclosure control as every table;
the shares and the median only where their n reaches the threshold."""

from __future__ import annotations

from collections import defaultdict
from statistics import median

from report.counting import Window, table_for
from report.facts import Person
from report.tables import Table

COUNTS = ("Referred", "Answered", "Accepted", "CheckIns", "PartnerReported")
STATS = ("ShareAnsweredPct", "MedianHoursToAccept", "SharePartnerReportedPct")


def responsiveness(people: list[Person], w: Window, kinds: list[str]) -> Table:
    """C5: per partner kind, referrals (steps started in the window) and how many of them its
    partner answered and accepted (by the window's end), the hours from referral to acceptance,
    check-ins recorded in the window and how many of them the partner reported."""
    found: dict[tuple[str, str], int] = defaultdict(int)
    hours: dict[str, list[float]] = defaultdict(list)
    for p in people:
        for s in p.steps:
            if not w.holds(s.started_at) or s.started_at is None:
                continue
            found[(s.partner_kind, "Referred")] += 1
            if s.answered_at is not None and s.answered_at < w.end:
                found[(s.partner_kind, "Answered")] += 1
                if s.accepted:
                    found[(s.partner_kind, "Accepted")] += 1
                    wait = (s.answered_at - s.started_at).total_seconds() / 3600
                    hours[s.partner_kind].append(wait)
        for ci in p.check_ins:
            if w.holds(ci.at):
                found[(ci.partner_kind, "CheckIns")] += 1
                found[(ci.partner_kind, "PartnerReported")] += ci.partner_reported
    rows = sorted(set(kinds) | {k for k, _ in found})
    t = table_for("C5", w, "PartnerKind", "Responsiveness", (*rows, "Total"), (*COUNTS, *STATS))
    for c in COUNTS:
        for r in rows:
            t.true[(r, c)] = found[(r, c)]
        t.true[("Total", c)] = sum(found[(r, c)] for r in rows)
        t.add_sum([(r, c) for r in rows], ("Total", c))
    hours["Total"] = [h for r in rows for h in hours[r]]
    for r in [*rows, "Total"]:
        _share(t, r, "ShareAnsweredPct", "Answered", "Referred")
        _share(t, r, "SharePartnerReportedPct", "PartnerReported", "CheckIns")
        t.true[(r, "MedianHoursToAccept")] = 0
        waited = hours[r]
        t.derived[(r, "MedianHoursToAccept")] = (
            round(median(waited), 1) if waited else 0.0,
            [(r, "Accepted")],
            len(waited),
        )
    return t


def _share(t: Table, row: str, col: str, part: str, whole: str) -> None:
    n = t.true[(row, whole)]
    share = round(100 * t.true[(row, part)] / n, 1) if n else 0.0
    t.true[(row, col)] = 0
    t.derived[(row, col)] = (share, [(row, part), (row, whole)], n)
