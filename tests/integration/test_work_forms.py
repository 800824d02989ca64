"""A case manager's day as forms: a due check-in and an open-ended step each wait as a decision
(a form in the UI) until someone records them, in the UI or the CLI, and then close."""

from __future__ import annotations

from datetime import timedelta

from casework.services import engine, plan_changes, recording
from casework.store import decisions
from casework.store.db import Store
from plans.directories import Directories
from plans.model import Plan
from tests.conftest import T0

PLAN = {
    "case": "BC-DAY-1",
    "manager": "n-zdolnik",
    "steps": [
        {
            "id": "psych",
            "domain": "psychological",
            "title": "Sessions",
            "partner": "brest-psychologist",
            "check_ins": {"every": "7d", "grace": "1d"},
        }
    ],
}


def opened(store: Store, code: str, at: timedelta) -> dict[str, str]:
    """As the engine does on a wake: the decisions whose form must be shown (or told), by run
    name; each then given its run, or told."""
    found = decisions.sync_decisions(store, code=code, now=T0 + at)
    for d in found:
        if d.status == "waiting":
            decisions.set_decision_run(
                store, code=code, kind=d.kind, scope=d.scope, flow_run_id=f"run-{d.scope}"
            )
        else:
            decisions.set_decision_run(store, code=code, kind=d.kind, scope=d.scope, settled=True)
    return {d.run_name: d.status for d in found}


def test_a_due_check_in_and_an_open_ended_step_each_wait_as_a_form(
    store: Store, directories: Directories
) -> None:
    plan = Plan.model_validate(PLAN)
    plan_changes.launch(
        store, directories, plan=plan, by="n-zdolnik", now=T0, approval_required=False
    )
    engine.reconcile(store, code="BC-DAY-1", now=T0)
    assert opened(store, "BC-DAY-1", timedelta(0)) == {"BC-DAY-1 · completion · psych": "waiting"}
    engine.reconcile(store, code="BC-DAY-1", now=T0 + timedelta(days=7))
    assert opened(store, "BC-DAY-1", timedelta(days=7)) == {
        "BC-DAY-1 · check-in · psych #1": "waiting"
    }


def test_a_check_in_recorded_in_the_cli_closes_its_form_and_the_next_one_opens_when_due(
    store: Store, directories: Directories
) -> None:
    plan = Plan.model_validate(PLAN)
    plan_changes.launch(
        store, directories, plan=plan, by="n-zdolnik", now=T0, approval_required=False
    )
    for days in (0, 7):
        engine.reconcile(store, code="BC-DAY-1", now=T0 + timedelta(days=days))
        opened(store, "BC-DAY-1", timedelta(days=days))
    at = T0 + timedelta(days=7, hours=2)
    recording.record_check_in(
        store,
        directories,
        code="BC-DAY-1",
        step="psych",
        outcome="attended",
        by="n-zdolnik",
        now=at,
    )
    [told] = decisions.sync_decisions(store, code="BC-DAY-1", now=at)
    opened(store, "BC-DAY-1", timedelta(days=7, hours=2))
    assert (told.run_name, told.status, told.decision, told.decided_by) == (
        "BC-DAY-1 · check-in · psych #1",
        "decided",
        "attended",
        "n-zdolnik",
    ), "its run is told the outcome, not left waiting"
    engine.reconcile(store, code="BC-DAY-1", now=T0 + timedelta(days=14))
    assert opened(store, "BC-DAY-1", timedelta(days=14)) == {
        "BC-DAY-1 · check-in · psych #2": "waiting"
    }


def test_a_form_records_the_check_in_it_names_not_an_older_one(
    store: Store, directories: Directories
) -> None:
    plan = Plan.model_validate(
        {**PLAN, "steps": [{**PLAN["steps"][0], "check_ins": {"every": "7d", "grace": "10d"}}]}  # type: ignore[index]  # the dict above
    )
    plan_changes.launch(
        store, directories, plan=plan, by="n-zdolnik", now=T0, approval_required=False
    )
    engine.reconcile(store, code="BC-DAY-1", now=T0 + timedelta(days=14))  # #1 and #2 due
    recording.record_check_in(
        store,
        directories,
        code="BC-DAY-1",
        step="psych",
        outcome="rescheduled",
        by="n-zdolnik",
        now=T0 + timedelta(days=14),
        seq=1,
    )
    assert opened(store, "BC-DAY-1", timedelta(days=14)) == {
        "BC-DAY-1 · check-in · psych #1": "waiting",
        "BC-DAY-1 · completion · psych": "waiting",
    }
    second = decisions.get_decision(store, code="BC-DAY-1", kind="check-in", scope="psych-2")
    assert second is not None and (second.status, second.decision) == ("decided", "rescheduled")
