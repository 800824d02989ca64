"""Sections C-E: help given, outcomes and timeliness, counted from every case's history (no
consent needed: nothing here says who anyone is)."""

from __future__ import annotations

from collections import Counter
from statistics import median

from report.counting import Window, table_for
from report.facts import Person
from report.tables import Table
from report.vocabulary import (
    CHECK_IN_OUTCOMES,
    CLOSING_CODES,
    CLOSINGS,
    CONSENT_STATUSES,
    HELP_TYPES,
    PLAN_EVENTS,
    STATE_CODES,
    STEP_STATUSES,
)

_ENDED = {"completed": "Completed", "skipped": "Skipped", "cancelled": "Cancelled"}


def _steps(people: list[Person], w: Window, attr: str) -> Counter[tuple[str, str]]:
    found: Counter[tuple[str, str]] = Counter()
    for p in people:
        for s in p.steps:
            row = getattr(s, attr)
            if w.holds(s.started_at):
                found[(row, "Started")] += 1
            if s.state in _ENDED and w.holds(s.ended_at):
                found[(row, _ENDED[s.state] if s.delivered else "NotDelivered")] += 1
    return found


def _grid(t: Table, found: Counter[tuple[str, str]], rows: list[str]) -> None:
    for r in rows:
        for c in t.cols:
            t.true[(r, c)] = found[(r, c)]
    for c in t.cols:
        t.true[("Total", c)] = sum(found[(r, c)] for r in rows)
        t.add_sum([(r, c) for r in rows], ("Total", c))
    t.grid_lines(cols=False)


def steps_by_help(people: list[Person], w: Window) -> Table:
    """C1: steps started (referrals), completed, skipped, cancelled, and completed with their
    partner never told (not delivered: not help given), per type of help."""
    t = table_for("C1", w, "spl_Type", "StepStatus", (*HELP_TYPES, "Total"), STEP_STATUSES)
    _grid(t, _steps(people, w, "help_type"), list(HELP_TYPES))
    return t


def steps_by_partner(people: list[Person], w: Window, kinds: list[str]) -> Table:
    """C2: the same per partner kind (never a partner's name)."""
    found = _steps(people, w, "partner_kind")
    rows = sorted(set(kinds) | {r for r, _ in found})
    t = table_for("C2", w, "PartnerKind", "StepStatus", (*rows, "Total"), STEP_STATUSES)
    _grid(t, found, rows)
    return t


def check_ins(people: list[Person], w: Window, threshold: int) -> Table:
    """C3: check-ins attended, missed, rescheduled per type of help, with the share attended
    where n reaches the threshold."""
    t = table_for(
        "C3",
        w,
        "spl_Type",
        "CheckInOutcome",
        (*HELP_TYPES, "Total"),
        (*CHECK_IN_OUTCOMES, "ShareAttendedPct"),
    )
    found: Counter[tuple[str, str]] = Counter()
    for p in people:
        for ci in p.check_ins:
            if w.holds(ci.at):
                found[(ci.help_type, ci.outcome.capitalize())] += 1
    rows = list(HELP_TYPES)
    for r in [*rows, "Total"]:
        for c in CHECK_IN_OUTCOMES:
            t.true[(r, c)] = sum(found[(x, c)] for x in rows) if r == "Total" else found[(r, c)]
    for c in CHECK_IN_OUTCOMES:
        t.add_sum([(r, c) for r in rows], ("Total", c))
    for r in [*rows, "Total"]:
        keys = [(r, c) for c in CHECK_IN_OUTCOMES]
        t.add_line(keys)
        n = sum(t.true[k] for k in keys)
        share = round(100 * t.true[(r, "Attended")] / n, 1) if n else 0.0
        t.true[(r, "ShareAttendedPct")] = 0
        t.derived[(r, "ShareAttendedPct")] = (share, keys, n)
    return t


def consents(people: list[Person], w: Window, scopes: list[str]) -> Table:
    """C4: consents given, refused and withdrawn per scope."""
    found: Counter[tuple[str, str]] = Counter()
    for p in people:
        for decision in p.consents:
            if w.holds(decision.at):
                found[(decision.scope, decision.status.capitalize())] += 1
    rows = sorted(set(scopes) | {s for s, _ in found})
    t = table_for("C4", w, "ConsentScope", "ConsentStatus", rows, CONSENT_STATUSES)
    for r in rows:
        for c in CONSENT_STATUSES:
            t.true[(r, c)] = found[(r, c)]
    t.grid_lines()
    return t


def plans(people: list[Person], w: Window) -> Table:
    """D1: plans launched (first launches and relaunches), approved, completed (of them, not
    delivered: no partner of their completed steps was ever told), cancelled, terminated."""
    t = table_for("D1", w, "PlanEvent", "Count", PLAN_EVENTS, ("Plans",))
    found: Counter[str] = Counter()
    for p in people:
        for e in p.episodes:
            found["Launched"] += w.holds(e.launched_at)
            found["FirstLaunched"] += e.number == 1 and w.holds(e.launched_at)
            found["Relaunched"] += e.number > 1 and w.holds(e.launched_at)
            found["Approved"] += w.holds(e.approved_at)
            if e.outcome and w.holds(e.ended_at):
                found[e.outcome.capitalize()] += 1
                found["CompletedNotDelivered"] += e.not_delivered
    for code in PLAN_EVENTS:
        t.true[(code, "Plans")] = found[code]
    t.add_sum([("FirstLaunched", "Plans"), ("Relaunched", "Plans")], ("Launched", "Plans"))
    return t


def terminations(people: list[Person], w: Window) -> Table:
    """D2: plans terminated per programme rule (D1's Terminated is its total)."""
    found = Counter(
        e.rule or "unknown"
        for p in people
        for e in p.episodes
        if e.outcome == "terminated" and w.holds(e.ended_at)
    )
    rows = sorted(found)
    t = table_for("D2", w, "ProgrammeRule", "Count", (*rows, "Total"), ("Plans",))
    for r in rows:
        t.true[(r, "Plans")] = found[r]
    t.true[("Total", "Plans")] = sum(found.values())
    t.add_sum([(r, "Plans") for r in rows], ("Total", "Plans"))
    return t


def closings(people: list[Person], w: Window) -> Table:
    """D4: plans closed by staff per reason (`rehab case close`): goals met among D1's
    Completed, the others among its Cancelled."""
    t = table_for("D4", w, "ClosingReason", "Count", (*CLOSING_CODES, "Total"), ("Plans",))
    found = Counter(
        CLOSINGS[e.closed]
        for p in people
        for e in p.episodes
        if e.closed in CLOSINGS and e.outcome and w.holds(e.ended_at)
    )
    for code in CLOSING_CODES:
        t.true[(code, "Plans")] = found[code]
    t.true[("Total", "Plans")] = sum(found.values())
    t.add_sum([(code, "Plans") for code in CLOSING_CODES], ("Total", "Plans"))
    return t


def states(people: list[Person], w: Window) -> Table:
    """D3: cases by state at the period's end (a snapshot: the cumulative basis only)."""
    t = table_for("D3", w, "CaseState", "Count", (*STATE_CODES, "Total"), ("Cases",))
    found = Counter(s for p in people if (s := p.state_at(w.end)) is not None)
    for code in STATE_CODES:
        t.true[(code, "Cases")] = found[code]
    t.true[("Total", "Cases")] = sum(found.values())
    t.add_sum([(code, "Cases") for code in STATE_CODES], ("Total", "Cases"))
    return t


def timeliness(people: list[Person], w: Window) -> Table:
    """E1: median days from launch to approval and to the first step started, with n, for
    episodes launched in the window (what happened by its end)."""
    t = table_for(
        "E1",
        w,
        "Timeliness",
        "Statistic",
        ("LaunchToApproval", "LaunchToFirstStep"),
        ("N", "MedianDays"),
    )
    approval: list[float] = []
    first_step: list[float] = []
    for p in people:
        for i, e in enumerate(p.episodes):
            if not w.holds(e.launched_at):
                continue
            if e.approved_at is not None and e.approved_at < w.end:
                approval.append((e.approved_at - e.launched_at).total_seconds() / 86400)
            nxt = p.episodes[i + 1].launched_at if i + 1 < len(p.episodes) else w.end
            starts = [
                s.started_at
                for s in p.steps
                if s.started_at and e.launched_at <= s.started_at < min(nxt, w.end)
            ]
            if starts:
                first_step.append((min(starts) - e.launched_at).total_seconds() / 86400)
    for row, days in (("LaunchToApproval", approval), ("LaunchToFirstStep", first_step)):
        t.true[(row, "N")] = len(days)
        t.true[(row, "MedianDays")] = 0
        t.derived[(row, "MedianDays")] = (
            round(median(days), 1) if days else 0.0,
            [(row, "N")],
            len(days),
        )
    return t
