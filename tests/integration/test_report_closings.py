"""Section D of the programme report counts the plans staff closed, per reason (`rehab case
close`): in the period and since the start, through the disclosure control, with labels in
every language, and still after a closed case is purged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from casework.services import closing, plan_changes
from casework.services.purge import purge
from casework.store.db import Store
from casework.store.report_source import read_people
from plans.directories import Directories, StaffDirectory
from plans.model import Plan
from report.periods import monthly, since_start
from report.release import Release, build
from report.vocabulary import CLOSING_CODES, LANGS, label
from tests.conftest import T0

TZ = "Europe/Minsk"
NOW = datetime(2026, 12, 20, 9, 0, tzinfo=UTC)
S = timedelta(seconds=1)


@pytest.fixture
def staffed(directories: Directories) -> Directories:
    roles = {"cm": "case-manager", "sup": "supervisor", "dir": "director"}
    members = {sid: {"name": sid, "role": role, "notify": []} for sid, role in roles.items()}
    staff = StaffDirectory.model_validate({"default_supervisor": "sup", "staff": members})
    return Directories(directories.partners, staff)


def closed(store: Store, dirs: Directories, code: str, reason: str, to: str | None = None) -> None:
    step = {"id": "check", "domain": "medical", "title": "Check", "partner": "brest-clinic"}
    plan = Plan.model_validate({"case": code, "manager": "cm", "steps": [step]})
    plan_changes.launch(store, dirs, plan=plan, by="cm", now=T0, approval_required=False)
    closing.close_case(store, dirs, code=code, reason=reason, to=to, by="cm", now=T0 + S)


def report(store: Store, dirs: Directories, monthly_too: bool = False) -> Release:
    period = monthly("2026-12", TZ) if monthly_too else since_start(NOW, TZ)
    return build(read_people(store, dirs, tz=TZ), period, threshold=11, release_id="R1")


def counts(r: Release, basis: str) -> dict[str, int | float | None]:
    return {c.code1: c.count for c in r.table("D4", basis)}  # type: ignore[arg-type]


def true_counts(r: Release, basis: str) -> dict[str, int]:
    [t] = [t for t in r.tables if t.name == "D4" and t.basis == basis]
    return {row: t.true[(row, "Plans")] for row in t.rows}


def test_plans_closed_per_reason_are_counted_in_the_period_and_since_the_start(
    store: Store, staffed: Directories
) -> None:
    for n in range(12):
        closed(store, staffed, f"BC-MOVE-{n}", "moved-away")
    for n in range(11):
        closed(store, staffed, f"BC-GOAL-{n}", "goals-met")
    closed(store, staffed, "BC-TRANSFER", "transferred", to="Vilnius Shelter")
    r = report(store, staffed, monthly_too=True)
    for basis in ("period", "cumulative"):
        assert true_counts(r, basis) == {
            "ClosedMovedAway": 12,
            "ClosedLostContact": 0,
            "ClosedTransferred": 1,
            "ClosedDeceased": 0,
            "ClosedGoalsMet": 11,
            "Total": 24,
        }
        shown = counts(r, basis)
        # the one transfer is hidden, and with it the next smallest of its column, so that
        # no hidden count is the total less the shown ones
        assert shown["ClosedTransferred"] is None and shown["ClosedLostContact"] == 0
        assert sum(v is None for v in shown.values()) >= 2
    plans = {c.code1: c.count for c in r.table("D1", "cumulative")}
    assert plans["Completed"] == 11 and plans["Cancelled"] == 13
    assert "Vilnius" not in repr(r.cells), "where a case went is never in the report"


def test_a_purged_closed_case_is_still_counted_for_its_reason(
    store: Store, staffed: Directories
) -> None:
    for n in range(11):
        closed(store, staffed, f"BC-GOAL-{n}", "goals-met")
    before = counts(report(store, staffed), "cumulative")
    assert before["ClosedGoalsMet"] == 11
    purge(store, staffed, code="BC-GOAL-3", reason="the person asked", by="dir", now=NOW)
    assert counts(report(store, staffed), "cumulative") == before


def test_every_closing_code_has_a_label_in_every_language() -> None:
    for code in (*CLOSING_CODES, "D4"):
        assert all(label(code, lang) != code for lang in LANGS)
