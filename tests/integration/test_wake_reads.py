"""A wake reads the case once: one wake with a new decision, on a real SQLite store with the
recording Prefect fake, counted in the SELECTs that reach the cases table."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from casework.services import engine, plan_changes
from flows import tending
from flows.app import App
from flows.prefect.fake import RecordingPrefect
from flows.settings import Settings
from notifications.notifier import RecordingNotifier
from plans.model import Plan
from tests.conftest import PaperClock

CODE = "BC-READS-1"
FROM_CASES = re.compile(r"\b(FROM|JOIN)\s+cases\b", re.IGNORECASE)
# The wake's one load of the case, in the reconcile's transaction: the row by its code as
# stored (the unique index), with its revisions, steps and consents (SELECTs of their own
# tables). Only a code typed in other letters looks its stored spelling up first. Everything
# after it (decisions synced, forms described, artifacts, tags) works from that view.
AT_MOST = 1


@pytest.fixture
def app(tmp_path: Path, prefect: RecordingPrefect, paper: PaperClock) -> Iterator[App]:
    settings = Settings(home=tmp_path, database_url=f"sqlite:///{tmp_path / 'cases.db'}")
    opened = App(settings, prefect=prefect, notifier=RecordingNotifier(), clock=paper)
    yield opened
    opened.close()


def count_case_selects(app: App) -> list[str]:
    """Collects every SELECT on the cases table run from now on."""
    seen: list[str] = []

    def before(_c: Any, _cur: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and FROM_CASES.search(statement):
            seen.append(statement)

    event.listen(app.store.engine, "before_cursor_execute", before)
    return seen


def launch_awaiting_approval(app: App, code: str) -> None:
    """A one-step plan launched for the case `code`, waiting for its supervisor's approval."""
    plan = Plan.model_validate(
        {
            "case": code,
            "manager": "n-zdolnik",
            "steps": [
                {"id": "check", "domain": "medical", "title": "Check", "partner": "brest-clinic"}
            ],
        }
    )
    plan_changes.launch(
        app.store, app.directories, plan=plan, by="n-zdolnik", now=app.now(), approval_required=True
    )


def test_one_wake_with_a_new_decision_reads_the_case_once(
    app: App, prefect: RecordingPrefect
) -> None:
    launch_awaiting_approval(app, CODE)
    run_id = prefect.start_plan_run(CODE, 1, [])
    engine.set_flow_run(app.store, code=CODE, flow_run_id=run_id, now=app.now())

    selects = count_case_selects(app)
    said = tending.tend_case(app, CODE)

    assert said == "updated"
    assert prefect.called("open_decision_run") == [f"{CODE} · approval"], "a new decision"
    assert CODE in prefect.timelines[run_id] and prefect.messages[run_id], "shown on its run"
    assert len(selects) <= AT_MOST, "\n\n".join(selects)


def test_a_bulk_launchs_new_runs_are_labelled_from_one_read_of_all_their_cases(
    app: App, prefect: RecordingPrefect
) -> None:
    codes = [f"BC-READS-{n:02d}" for n in range(1, 31)]
    for code in codes:
        launch_awaiting_approval(app, code)
    one_by_one = {code: tending._as_shown(app, code) for code in codes}

    selects = count_case_selects(app)
    started = tending.new_runs(app, [*codes, "BC-READS-NONE"])

    assert len(selects) == 1, "\n\n".join(selects)
    assert set(started) == set(codes), "a code without a case gets no run"
    for code in codes:
        run = started[code]
        _, episode, tags, message = one_by_one[code]
        assert run == f"run-{code}-{episode}"
        assert prefect.tags[run] == ["rehab", *tags] and prefect.messages[run] == message
        assert "supervisor" in message, "labelled as the case stands: waiting for approval"
