"""Counting from the history (report.md sections A-E): true counts into tables, with the
lines and sums a reader knows. Each table for one basis: the period, or since the start."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from report.facts import Person
from report.tables import Basis, Table
from report.vocabulary import (
    EXPLOITATIONS,
    GROUPS,
    SEXUAL_TYPES,
)

TOTALS = ("Total", "NotBrokenDown", "AllPeople")


@dataclass(frozen=True)
class Window:
    """What a table counts: events in [start, end); start None since the programme began."""

    basis: Basis
    start: datetime | None
    end: datetime

    def holds(self, moment: datetime | None) -> bool:
        """Whether the moment falls in the window."""
        return (
            moment is not None
            and moment < self.end
            and (self.start is None or moment >= self.start)
        )


def table_for(  # noqa: PLR0917  # a table is its name, basis, dimensions, rows and columns
    name: str, w: Window, dim1: str, dim2: str, rows: Iterable[str], cols: Iterable[str]
) -> Table:
    """An empty table of this shape."""
    return Table(name, w.basis, dim1, dim2, list(rows), list(cols))


def identified(people: list[Person], w: Window) -> list[Person]:
    """People identified in the window."""
    return [p for p in people if w.holds(p.identified_at)]


def people(people: list[Person], w: Window) -> Table:
    """A1: new and active in the period, or identified since the start."""
    if w.basis == "period":
        t = table_for("A1", w, "PeopleMeasure", "Count", ("New", "Active"), ("People",))
        assert w.start is not None
        t.true[("New", "People")] = len(identified(people, w))
        t.true[("Active", "People")] = sum(p.active_during(w.start, w.end) for p in people)
    else:
        t = table_for("A1", w, "PeopleMeasure", "Count", ("Identified",), ("People",))
        t.true[("Identified", "People")] = len(identified(people, w))
    return t


def _consent_rows(t: Table, counted: list[Person], col: str = "Total") -> None:
    """Total (broken down), NotBrokenDown and AllPeople in column `col`, and their sum."""
    t.true[("Total", col)] = sum(p.who is not None for p in counted)
    t.true[("NotBrokenDown", col)] = sum(p.who is None for p in counted)
    t.true[("AllPeople", col)] = len(counted)
    t.add_sum([("Total", col), ("NotBrokenDown", col)], ("AllPeople", col))


def groups_by_exploitation(counted: list[Person], w: Window) -> Table:
    """B1: population group x type of exploitation (several types per person: rows do not
    add up, columns do)."""
    t = table_for(
        "B1",
        w,
        "PopulationGroup",
        "vic_TypeOfExploitation",
        (*GROUPS, *TOTALS),
        (*EXPLOITATIONS, "Total"),
    )
    who = [p.who for p in counted if p.who is not None]
    for g in GROUPS:
        mine = [x for x in who if x.group == g]
        t.true[(g, "Total")] = len(mine)
        for e in EXPLOITATIONS:
            t.true[(g, e)] = sum(e in x.exploitation for x in mine)
    for e in EXPLOITATIONS:
        t.true[("Total", e)] = sum(e in x.exploitation for x in who)
    _consent_rows(t, counted)
    for c in (*EXPLOITATIONS, "Total"):
        t.add_sum([(g, c) for g in GROUPS], ("Total", c))
    t.grid_lines(cols=False)
    return t


def one_way(  # noqa: PLR0917  # B2 and B3 differ in these alone
    name: str, dim1: str, codes: tuple[str, ...], counted: list[Person], pick: str, w: Window
) -> Table:
    """B2/B3: one category per person (gender or majority), with the consent rows."""
    t = table_for(name, w, dim1, "Count", (*codes, *TOTALS), ("Total",))
    found = Counter(getattr(p.who, pick) for p in counted if p.who is not None)
    for code in codes:
        t.true[(code, "Total")] = found[code]
    _consent_rows(t, counted)
    t.add_sum([(c, "Total") for c in codes], ("Total", "Total"))
    return t


def exploitation(counted: list[Person], w: Window) -> Table:
    """B4: type of exploitation (B1's total row, as its own table)."""
    t = table_for("B4", w, "vic_TypeOfExploitation", "Count", (*EXPLOITATIONS, *TOTALS), ("Total",))
    who = [p.who for p in counted if p.who is not None]
    for e in EXPLOITATIONS:
        t.true[(e, "Total")] = sum(e in x.exploitation for x in who)
    _consent_rows(t, counted)
    return t


def sexual_types(counted: list[Person], w: Window) -> Table:
    """B5: sub-types of sexual exploitation, among those sexually exploited."""
    t = table_for(
        "B5", w, "vic_TypeOfSexExploitation", "Count", (*SEXUAL_TYPES, "Total"), ("Total",)
    )
    who = [
        p.who for p in counted if p.who is not None and "SexualExploitation" in p.who.exploitation
    ]
    for s in SEXUAL_TYPES:
        t.true[(s, "Total")] = sum(s in x.sexual for x in who)
    t.true[("Total", "Total")] = len(who)
    t.grid_lines()
    return t


def _in_group(types: tuple[str, ...], group: str) -> bool:
    if group == "Sexual":
        return "SexualExploitation" in types
    return any(e != "SexualExploitation" for e in types)


def countries(counted: list[Person], w: Window, threshold: int) -> Table:
    """B6: country of exploitation x (sexual / other); a country with any count from 1 to
    threshold-1 joins "other countries" (rule 1)."""
    cols = ("Sexual", "OtherExploitation")
    tally: dict[str, Counter[str]] = {}
    for p in counted:
        if p.who is None:
            continue
        for country in p.who.countries:
            row = tally.setdefault(country, Counter())
            for k in cols:
                row[k] += _in_group(p.who.exploitation, k)
    kept = sorted(c for c, n in tally.items() if not any(0 < n[k] < threshold for k in cols))
    rare = [c for c in tally if c not in kept]
    t = table_for("B6", w, "hte_Country", "ExploitationGroup", (*kept, "OtherCountries"), cols)
    for c in kept:
        for k in cols:
            t.true[(c, k)] = tally[c][k]
    for k in cols:
        # A person exploited in two rare countries counts once among "other countries".
        t.true[("OtherCountries", k)] = sum(
            p.who is not None
            and _in_group(p.who.exploitation, k)
            and any(c in rare for c in p.who.countries)
            for p in counted
        )
    t.grid_lines()
    return t
