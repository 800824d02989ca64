"""One release: every table of every basis counted, protected in order (a cell another table
already published is copied, never decided twice) and flattened into cells."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from plans.errors import ThresholdTooLow
from report import counting, help_given, partners
from report.disclosure import MINIMUM_THRESHOLD, locks, publish
from report.facts import Person
from report.periods import Period
from report.tables import Basis, Cell, Key, Prior, Table
from report.vocabulary import EXPLOITATIONS, GENDERS, MAJORITY

# For a table and basis: the earlier releases it is compared with, and the last one.
Priors = Callable[[str, Basis], tuple[list[Prior], Prior | None]]
CONSENT_ROWS = ("Total", "NotBrokenDown", "AllPeople")


@dataclass(frozen=True)
class Release:
    """The published cells of one report, and how they were made."""

    release_id: str
    period: Period
    threshold: int
    cells: list[Cell]
    method: dict[str, Any] = field(default_factory=dict)
    # The true tables behind the cells: for checking the release, never rendered.
    tables: list[Table] = field(default_factory=list, repr=False, compare=False)

    def table(self, name: str, basis: Basis) -> list[Cell]:
        """The cells of one table of one basis."""
        return [c for c in self.cells if c.table == name and c.basis == basis]


def check_threshold(threshold: int) -> int:
    """The threshold may be raised, never lowered below 11."""
    if threshold < MINIMUM_THRESHOLD:
        raise ThresholdTooLow(threshold, MINIMUM_THRESHOLD)
    return threshold


def _no_priors(_name: str, _basis: Basis) -> tuple[list[Prior], Prior | None]:
    return [], None


def _basis(
    people: list[Person],
    w: counting.Window,
    threshold: int,
    priors: Priors,
    *,
    partner_kinds: list[str],
    scopes: list[str],
    tables: list[Table],
) -> list[Cell]:
    out: list[Cell] = []
    done: dict[str, tuple[Table, list[Cell]]] = {}

    def put(t: Table, copy: dict[Key, Key] | None = None, source: str = "") -> None:
        """Protect and publish `t`; its cells in `copy` show what `source` published for the
        same count (where the true counts are equal: the same people, never decided twice)."""
        if copy:
            theirs, cells = done[source]
            same = {k: v for k, v in copy.items() if t.true.get(k) == theirs.true.get(v)}
            t.locked.update(locks(cells, same))
            t.copied_from.update({k: (source, v) for k, v in same.items()})
        earlier, last = priors(t.name, t.basis)
        cells = publish(t, threshold, priors=earlier, last=last)
        out.extend(cells)
        tables.append(t)
        done[t.name] = (t, cells)

    put(counting.people(people, w))
    everyone = ("New" if w.basis == "period" else "Identified", "People")
    counted = counting.identified(people, w)
    put(counting.groups_by_exploitation(counted, w), {("AllPeople", "Total"): everyone}, "A1")
    consent = {(r, "Total"): (r, "Total") for r in CONSENT_ROWS}
    put(counting.one_way("B2", "prs_Gender", GENDERS, counted, "gender", w), consent, "B1")
    put(counting.one_way("B3", "majorityStatus", MAJORITY, counted, "majority", w), consent, "B1")
    b4 = {**consent, **{(e, "Total"): ("Total", e) for e in EXPLOITATIONS}}
    put(counting.exploitation(counted, w), b4, "B1")
    sexual = {("Total", "Total"): ("Total", "SexualExploitation")}
    put(counting.sexual_types(counted, w), sexual, "B1")
    put(counting.countries(counted, w, threshold))
    put(help_given.steps_by_help(people, w))
    c2 = help_given.steps_by_partner(people, w, partner_kinds)
    put(c2, {("Total", c): ("Total", c) for c in c2.cols}, "C1")
    put(help_given.check_ins(people, w, threshold))
    put(help_given.consents(people, w, scopes))
    c5 = partners.responsiveness(people, w, partner_kinds)
    put(c5, {(k, "Referred"): (k, "Started") for k in c2.rows}, "C2")
    # First launches are, but for cases recorded after the fact, the people identified.
    put(help_given.plans(people, w), {("FirstLaunched", "Plans"): everyone}, "A1")
    put(help_given.terminations(people, w), {("Total", "Plans"): ("Terminated", "Plans")}, "D1")
    if w.basis == "cumulative":
        put(help_given.states(people, w), {("Total", "Cases"): everyone}, "A1")
    put(help_given.closings(people, w))
    approvals = {("LaunchToApproval", "N"): ("Approved", "Plans")}
    put(help_given.timeliness(people, w), approvals, "D1")
    return out


def build(
    people: list[Person],
    period: Period,
    *,
    threshold: int,
    release_id: str,
    priors: Priors = _no_priors,
    partner_kinds: list[str] = (),  # type: ignore[assignment]  # read only
    scopes: list[str] = (),  # type: ignore[assignment]  # read only
) -> Release:
    """Count, protect and flatten every table of the period (and since the start)."""
    check_threshold(threshold)
    windows = [counting.Window("cumulative", None, period.end_utc)]
    if period.has_period_basis:
        windows.insert(0, counting.Window("period", period.start_utc, period.end_utc))
    tables: list[Table] = []
    cells = [
        c
        for w in windows
        for c in _basis(
            people,
            w,
            threshold,
            priors,
            partner_kinds=list(partner_kinds),
            scopes=list(scopes),
            tables=tables,
        )
    ]
    method = {
        "threshold": threshold,
        "marker": "c",
        "consent_basis": (
            "People are broken down by who they are only with the consent scope `statistics` "
            "given (their latest record); everyone else is counted once, in NotBrokenDown."
        ),
        "release_id": release_id,
        "vocabulary": "HTCDS 2.0 / CTDC codes (prs_Gender, majorityStatus, "
        "vic_TypeOfExploitation, vic_TypeOfSexExploitation, hte_Country, spl_Type)",
        "rules": [
            "rare countries grouped into OtherCountries",
            f"counts 1 to {threshold - 1} hidden; 0 shown; medians and shares only with "
            f"n >= {threshold}",
            "every line holding a hidden cell holds two whose true values reach the threshold",
            "one marker, c, for every hidden cell",
            "a period cell differing by 1 to threshold-1 from an earlier release of a period "
            "containing it or inside it is hidden; a cumulative cell carries its last released "
            "value (flag carried, as_of YYYY-MM)",
        ],
        "period": {
            "kind": period.kind,
            "label": period.label,
            "start": period.start.isoformat(),
            "end": period.end.isoformat(),
            "timezone": period.tz,
        },
    }
    return Release(release_id, period, threshold, cells, method, tables)
