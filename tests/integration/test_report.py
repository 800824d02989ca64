"""The programme report against a synthetic population of several hundred people in a real
case store: exact totals, the disclosure rules (primary, secondary, one marker, nothing a
reader can work out), the consent basis, and the difference rule between releases."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from casework.store.audit_rows import audit
from casework.store.db import Store, open_store
from casework.store.report_releases import priors, record_release
from casework.store.report_source import partner_kinds, read_people
from plans.directories import Directories
from report.facts import Person
from report.periods import Period, monthly, quarterly, since_start
from report.release import Release, build
from report.tables import Cell, Table
from tests.disclosure_check import recoverable
from tests.report_population import Someone, population, write

TZ = "Europe/Minsk"
T = 11
NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def release(
    store: Store, directories: Directories, period: Period, *, keep: bool = False, rid: str = "R1"
) -> Release:
    """Build the report from the store as `rehab report` does; `keep` records it."""
    people = read_people(store, directories, tz=TZ)
    made = build(
        people,
        period,
        threshold=T,
        release_id=rid,
        priors=priors(store, period),
        partner_kinds=partner_kinds(directories),
        scopes=["statistics"],
    )
    if keep:
        record_release(store, made, now=NOW)
    return made


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, list[Someone]]]:
    home = tmp_path_factory.mktemp("report")
    store = open_store(f"sqlite:///{home / 'cases.db'}", home / "secret.key")
    people = population()
    write(store, people)
    yield store, people
    store.dispose()


def cell(r: Release, table: str, basis: str, code1: str, code2: str) -> Cell:
    return next(c for c in r.table(table, basis) if (c.code1, c.code2) == (code1, code2))  # type: ignore[arg-type]


def test_the_store_is_read_whole_and_the_totals_are_exact(
    store: Store, directories: Directories
) -> None:
    people = population(n=220, seed=3)
    write(store, people)
    read = read_people(store, directories, tz=TZ)
    assert len(read) == len(people)
    r = build(read, since_start(NOW, TZ), threshold=T, release_id="R0")
    everyone = cell(r, "A1", "cumulative", "Identified", "People")
    assert everyone.count == len(people)
    assert cell(r, "B1", "cumulative", "AllPeople", "Total").count == len(people)
    assert cell(r, "B1", "cumulative", "Total", "Total").count == sum(s.counted for s in people)
    assert cell(r, "D3", "cumulative", "Total", "Cases").count == len(people)
    recorded_after = [p for p in read if not p.episodes]
    assert len(recorded_after) == 12
    assert all(p.identified_at < datetime(2016, 1, 1, tzinfo=UTC) for p in recorded_after), (
        "a case recorded after the fact is identified on its person's identified_on"
    )


def test_no_count_from_1_to_10_is_shown_and_one_marker_hides(
    world: tuple[Store, list[Someone]], directories: Directories
) -> None:
    store, _ = world
    for period in (monthly("2026-11", TZ), quarterly("2026-Q4", TZ), since_start(NOW, TZ)):
        r = release(store, directories, period)
        hidden = [c for c in r.cells if c.flag == "c"]
        assert hidden, "the population has small cells on purpose"
        assert {c.flag for c in r.cells} <= {"ok", "c", "carried"}
        assert all(c.count is None for c in hidden)
        shown = [
            c.count
            for c in r.cells
            if c.count is not None and c.code2 not in ("ShareAttendedPct", "MedianDays")
        ]
        assert not [n for n in shown if 0 < n < T]


def _masked(r: Release) -> Iterator[tuple[object, dict[tuple[str, str], Cell]]]:
    for t in r.tables:
        yield t, {c.key: c for c in r.table(t.name, t.basis)}


def test_every_line_with_a_hidden_cell_holds_two_whose_true_values_reach_the_threshold(
    world: tuple[Store, list[Someone]], directories: Directories
) -> None:
    store, _ = world
    checked = 0
    for period in (monthly("2026-11", TZ), quarterly("2026-Q3", TZ), since_start(NOW, TZ)):
        r = release(store, directories, period)
        for t in r.tables:
            cells = {c.key: c for c in r.table(t.name, t.basis)}
            for line in t.lines:
                counts = [k for k in line if k not in t.derived]
                hidden = [k for k in counts if cells[k].flag != "ok"]
                if not hidden:
                    continue
                checked += 1
                every_nonzero_hidden = all(cells[k].flag != "ok" for k in counts if t.true[k] > 0)
                # Where every non-zero cell is hidden already, zeros (shown) cannot join them.
                assert len(hidden) >= 2 or every_nonzero_hidden, (t.name, t.basis, line)
                assert sum(t.true[k] for k in hidden) >= T or every_nonzero_hidden, (t.name, line)
    assert checked > 20


def test_no_hidden_cell_can_be_worked_out_from_the_published_cells_and_totals(
    world: tuple[Store, list[Someone]], directories: Directories
) -> None:
    store, _ = world
    for period in (
        monthly("2026-11", TZ),
        monthly("2026-06", TZ),
        quarterly("2026-Q4", TZ),
        since_start(NOW, TZ),
    ):
        r = release(store, directories, period)
        for t in r.tables:
            assert recoverable(t, r.table(t.name, t.basis)) == [], (period.label, t.name, t.basis)


def test_no_hidden_cell_can_be_worked_out_across_the_tables_of_a_release_either(
    world: tuple[Store, list[Someone]], directories: Directories
) -> None:
    store, _ = world
    for period in (monthly("2026-11", TZ), quarterly("2026-Q4", TZ), since_start(NOW, TZ)):
        r = release(store, directories, period)
        for basis in ("period", "cumulative"):
            mine = [t for t in r.tables if t.basis == basis]
            if not mine:
                continue
            joined = Table("all", basis, "table", "cell", [], [])  # type: ignore[arg-type]
            cells: list[Cell] = []
            for t in mine:
                name = lambda k, t=t: (f"{t.name}:{k[0]}", k[1])  # noqa: E731
                joined.true.update({name(k): v for k, v in t.true.items()})
                joined.derived.update({name(k): v for k, v in t.derived.items()})
                joined.sums += [([name(p) for p in parts], name(total)) for parts, total in t.sums]
                for k, (source, theirs) in t.copied_from.items():  # the same count, twice
                    joined.sums.append(([name(k)], (f"{source}:{theirs[0]}", theirs[1])))
                for c in r.table(t.name, basis):  # type: ignore[arg-type]
                    cells.append(replace(c, code1=f"{t.name}:{c.code1}"))
            assert recoverable(joined, cells) == [], (period.label, basis)


def test_people_without_statistics_consent_are_only_in_the_not_broken_down_row(
    world: tuple[Store, list[Someone]], directories: Directories
) -> None:
    store, people = world
    r = release(store, directories, since_start(NOW, TZ))
    b1 = next(t for t in r.tables if t.name == "B1" and t.basis == "cumulative")
    not_counted = [s for s in people if not s.counted]
    assert {"refused"} & {x for s in not_counted for x in s.statistics}, "refusals among them"
    assert b1.true[("NotBrokenDown", "Total")] == len(not_counted)
    assert b1.true[("Total", "Total")] == len(people) - len(not_counted)
    for name in ("B2", "B3", "B4"):
        t = next(t for t in r.tables if t.name == name and t.basis == "cumulative")
        broken = sum(
            v for (r1, _), v in t.true.items() if r1 not in ("Total", "NotBrokenDown", "AllPeople")
        )
        assert (broken == b1.true[("Total", "Total")]) or name == "B4"
    organ = [s for s in people if s.person and "organ-removal" in s.person["exploitation"]]
    assert b1.true[("Total", "OrganRemoval")] == sum(s.counted for s in organ)


def test_a_second_release_after_a_few_more_people_hides_or_carries_what_would_reveal_them(
    tmp_path: Path, directories: Directories
) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'cases.db'}", tmp_path / "secret.key")
    try:
        # Their history is over by mid-November (the audit log is appended in time order),
        # so two people launched later in the month are news to the second release.
        people = population(n=300, seed=11, end=date(2026, 8, 1))
        write(store, people)
        month = monthly("2026-11", TZ)
        first = release(store, directories, month, keep=True, rid="R-first")
        girls = population(n=16, seed=5)[14:16]  # two more people, launched this month
        for i, s in enumerate(girls):
            s.code = f"BC-2026-77{i:02d}"
            s.launched_at = datetime(2026, 11, 20 + i, 10, tzinfo=UTC)
            s.statistics = ["given"]
            assert s.person is not None
            s.person.update(gender="female", birth_year=2011, exploitation=["begging"])
        write(store, girls)
        second = release(store, directories, month, rid="R-second")
        before = {(c.table, c.basis, c.key): c for c in first.cells}
        moved = 0
        for t in second.tables:
            old = next(x for x in first.tables if (x.name, x.basis) == (t.name, t.basis))
            for c in second.table(t.name, t.basis):
                was = before.get((c.table, c.basis, c.key))
                if c.key in t.derived or was is None or was.count is None:
                    continue
                diff = abs(t.true[c.key] - old.true.get(c.key, 0))
                if c.flag == "ok":
                    assert not 0 < abs(int(c.count or 0) - int(was.count)) < T, (t.name, c.key)
                if 0 < diff < T:
                    moved += 1
                    expected = {"c"} if t.basis == "period" else {"carried", "c"}
                    assert c.flag in expected, (t.name, t.basis, c.key, c.flag)
                    if c.flag == "carried":
                        assert (c.count, c.as_of) == (was.count, "2026-11")
        assert moved >= 3
        assert cell(second, "A1", "cumulative", "Identified", "People").flag == "carried"
    finally:
        store.dispose()


def test_a_period_release_is_checked_against_releases_of_periods_it_contains(
    world: tuple[Store, list[Someone]], directories: Directories
) -> None:
    store, _ = world
    found = priors(store, quarterly("2026-Q4", TZ))
    earlier, last = found("A1", "period")
    assert [p.period_start for p in earlier] == [], "nothing released in this module's store yet"
    release(store, directories, monthly("2026-10", TZ), keep=True, rid="R-oct")
    earlier, _ = priors(store, quarterly("2026-Q4", TZ))("A1", "period")
    assert [p.release_id for p in earlier] == ["R-oct"]
    earlier, _ = priors(store, monthly("2026-11", TZ))("A1", "period")
    assert earlier == [], "a month beside it is neither inside nor around it"
    _, last = priors(store, monthly("2026-11", TZ))("A1", "cumulative")
    assert last is not None and last.release_id == "R-oct"


def test_people_are_counted_by_when_they_were_identified_in_the_programmes_zone() -> None:
    # 23:30 UTC on 31 October is 02:30 on 1 November in Minsk: November's.
    late = datetime(2026, 10, 31, 23, 30, tzinfo=UTC)
    people = [Person(identified_at=late, who=None)]
    nov = build(people, monthly("2026-11", TZ), threshold=T, release_id="R")
    oct_ = build(people, monthly("2026-10", TZ), threshold=T, release_id="R")
    november = next(t for t in nov.tables if t.name == "A1" and t.basis == "period")
    october = next(t for t in oct_.tables if t.name == "A1" and t.basis == "period")
    assert (november.true[("New", "People")], october.true[("New", "People")]) == (1, 0)
    assert date(2026, 11, 1) == monthly("2026-11", TZ).start


def test_a_release_is_kept_as_its_cells_and_read_back_for_the_next(
    store: Store, directories: Directories
) -> None:
    write(store, population(n=120, seed=2))
    made = release(store, directories, monthly("2026-11", TZ), keep=True, rid="R-kept")
    earlier, _ = priors(store, monthly("2026-11", TZ))("C3", "period")
    _, last = priors(store, monthly("2026-12", TZ))("C3", "cumulative")
    assert [p.release_id for p in earlier] == ["R-kept"] and last is not None
    for basis, prior in (("period", earlier[0]), ("cumulative", last)):
        published = {c.key: (c.count, c.flag, c.as_of) for c in made.table("C3", basis)}  # type: ignore[arg-type]
        assert prior.cells == published, "hidden counts kept as nothing, shares as numbers"


def test_consent_withdrawn_entirely_takes_a_person_out_of_the_breakdowns(
    store: Store, directories: Directories
) -> None:
    people = population(n=30, seed=4)
    for s in people:
        s.statistics = ["given"]
    write(store, people)
    leaving = people[0]
    assert leaving.launched_at is not None
    with store.session() as session:
        audit(
            session,
            sealer=store.sealer,
            case_code=leaving.code,
            actor="n-zdolnik",
            action="consent-withdrawn-all",
            now=leaving.launched_at + timedelta(days=40),
        )
    read = read_people(store, directories, tz=TZ)
    assert sum(p.who is None for p in read) == 1
