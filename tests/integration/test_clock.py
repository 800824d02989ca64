"""The clock's branches, fast: a real case store, the Prefect side as a recording fake, and a
paper clock. End-to-end tests prove the same against a real server, slowly."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from casework.services import engine, plan_changes, recording
from casework.store import queries
from casework.store.tables import AuditRow
from flows import clock, tending
from flows.app import App
from flows.prefect import engine_client
from flows.prefect.errors import RunNotCreated
from flows.prefect.fake import RecordingPrefect
from flows.settings import Settings
from notifications.notifier import RecordingNotifier
from notifications.outbox import send_due
from plans.model import Plan
from tests.conftest import T0, PaperClock

S = timedelta(seconds=1)
INTERVAL, STALE = 60 * S, 120 * S
CODE = "BC-CLOCK-1"


@pytest.fixture
def app(
    store_url: str, tmp_path: Path, prefect: RecordingPrefect, paper: PaperClock
) -> Iterator[App]:
    settings = Settings(
        home=tmp_path, database_url=store_url, clock_interval=INTERVAL, stale_run_after=STALE
    )
    engine = App(settings, prefect=prefect, notifier=RecordingNotifier(), clock=paper)
    yield engine
    engine.close()


def plan(**step: object) -> Plan:
    return Plan.model_validate(
        {
            "case": CODE,
            "manager": "n-zdolnik",
            "steps": [
                {
                    "id": "check",
                    "domain": "medical",
                    "title": "Medical check",
                    "partner": "brest-clinic",
                    **step,
                }
            ],
        }
    )


def launch(
    app: App, p: Plan, *, approval: bool = False, with_run: bool = True, **extra: Any
) -> None:
    plan_changes.launch(
        app.store,
        app.directories,
        plan=p,
        by="n-zdolnik",
        now=app.now(),
        approval_required=approval,
        **extra,
    )
    if with_run:
        run_id = app.prefect.start_plan_run(p.case, 1, [])
        engine.set_flow_run(app.store, code=p.case, flow_run_id=run_id, now=app.now())


def wake_at(app: App) -> datetime | None:
    at = queries.case_status(app.store, code=CODE)["wake_at"]
    return None if at is None else datetime.fromisoformat(at)


def test_a_case_launched_while_prefect_was_away_gets_its_run_at_the_next_tick(
    app: App, prefect: RecordingPrefect
) -> None:
    launch(app, plan(), with_run=False)
    assert clock.tick(app) == {"started": 1, "updated": 1}
    assert prefect.called("start_plan_run") == [CODE]
    status = queries.case_status(app.store, code=CODE)
    assert status["flow_run_id"] == f"run-{CODE}-1"
    assert status["steps"][0]["state"] == "open"
    assert prefect.published[f"run-{CODE}-1"][0][1] == "step-started check"
    assert send_due(
        app.store, app.directories, app.notifier, now=app.now(), policy=app.send_policy
    ) == {"sent": 1}
    [(url, subject, _)] = app.notifier.sent  # type: ignore[attr-defined]  # the recording fake
    assert "brest-clinic.example" in url and subject.endswith(f"{CODE}: Medical check")


def test_when_prefect_cannot_be_reached_the_store_moves_on_and_the_case_is_due_next_tick(
    app: App, prefect: RecordingPrefect, paper: PaperClock
) -> None:
    launch(app, plan())
    prefect.failing.add("publish")
    assert clock.tick(app) == {"errors": 1}
    assert queries.case_status(app.store, code=CODE)["steps"][0]["state"] == "open", (
        "the store's work is saved whatever Prefect does"
    )
    assert wake_at(app) == T0 + INTERVAL
    prefect.failing.clear()
    paper.at = T0 + INTERVAL
    assert clock.tick(app) == {"updated": 1}
    # Nothing more until a person acts, or the partner leaves the referral unanswered for
    # its `acknowledge_within` (3 days by default).
    assert wake_at(app) == T0 + timedelta(days=3)


def test_a_decision_run_that_could_not_be_opened_is_tried_again(
    app: App, prefect: RecordingPrefect, paper: PaperClock
) -> None:
    launch(app, plan(), approval=True)
    prefect.failing.add("open_decision_run")
    outcome = tending.reconcile(app, CODE)
    assert tending.follow_up(app, outcome) == f"updated; will retry {CODE} · approval"
    assert wake_at(app) == T0 + INTERVAL
    prefect.failing.clear()
    paper.at = T0 + INTERVAL
    clock.tick(app)
    assert prefect.called("open_decision_run") == [f"{CODE} · approval"] * 2
    assert wake_at(app) is None


def test_a_due_check_in_opens_its_form_waiting_and_the_timeline_says_on_whom(
    app: App, prefect: RecordingPrefect, paper: PaperClock
) -> None:
    launch(app, plan(check_ins={"every": "1h", "first": "10s", "grace": "10m"}))
    clock.tick(app)
    paper.at = T0 + 11 * S
    clock.tick(app)
    run = f"decision-{CODE}/1/check-in/check-1"
    assert prefect.runs[run] == f"{CODE} · check-in · check #1"
    form, key = prefect.forms[run]
    assert key == "check-in-check-1", "the key the flow suspends under when it is submitted"
    assert set(form.model_fields) == {"outcome"}, "what is decided; never who, never a code"
    # Shown above the form, in the language of the case manager it waits on (ru).
    assert "Встреча №1 шага `check`: случай BC-CLOCK-1" in str(form._description)
    timeline = prefect.timelines[f"run-{CODE}-1"]
    assert "- check-in · check #1: the case manager `n-zdolnik`" in timeline


def test_a_decision_taken_in_the_cli_settles_its_waiting_run(
    app: App, prefect: RecordingPrefect
) -> None:
    launch(app, plan(), approval=True)
    clock.tick(app)
    recording.approve(app.store, app.directories, code=CODE, by="l-istomova", now=app.now())
    assert tending.tend_case(app, CODE) == "updated"
    assert prefect.called("settle_decision_run") == [f"{CODE} · approval"]
    assert queries.case_status(app.store, code=CODE)["state"] == "active"


def test_an_ended_plan_stays_on_the_clock_until_its_run_has_ended(
    app: App, prefect: RecordingPrefect, paper: PaperClock
) -> None:
    launch(app, plan(duration="30s"))
    clock.tick(app)
    run_id = f"run-{CODE}-1"
    assert prefect.states[run_id] == "suspended", "a living plan's run is not resumed"
    paper.at = T0 + 30 * S
    assert clock.tick(app) == {"resumed": 1}
    assert queries.case_status(app.store, code=CODE)["state"] == "completed"
    assert wake_at(app) == paper.at + STALE, "looked at again in case the run crashes"
    prefect.states[run_id] = "crashed"  # what the real resume_or_restart_run reschedules
    paper.at += STALE
    assert clock.tick(app) == {"crashed": 1}
    prefect.states[run_id] = "completed"
    paper.at += STALE
    assert clock.tick(app) == {"completed": 1}
    assert wake_at(app) is None, "its run has ended: nothing more to do"


def test_one_plans_trouble_does_not_stop_the_clock_for_the_others(
    app: App, prefect: RecordingPrefect
) -> None:
    launch(app, plan())
    other = Plan.model_validate({**plan().model_dump(mode="json"), "case": "BC-CLOCK-2"})
    plan_changes.launch(
        app.store,
        app.directories,
        plan=other,
        by="n-zdolnik",
        now=app.now(),
        approval_required=False,
    )
    prefect.failing.add("start_plan_run")  # only the second case has no run yet
    assert clock.tick(app) == {"errors": 1, "updated": 1, "no flow run yet": 1}
    assert queries.case_status(app.store, code=CODE)["steps"][0]["state"] == "open"
    second = queries.case_status(app.store, code="BC-CLOCK-2")
    assert second["steps"][0]["state"] == "open", "its store work goes on without its run"


def test_each_wake_sets_the_runs_tags_and_message_to_what_is_true_now(
    app: App, prefect: RecordingPrefect, paper: PaperClock
) -> None:
    launch(app, plan(check_ins={"every": "1h", "count": 2, "grace": "10m"}), approval=True)
    run_id = f"run-{CODE}-1"
    clock.tick(app)
    assert {"rehab", "living", "waiting:approval", "domain:medical"} <= set(prefect.tags[run_id])
    assert prefect.messages[run_id] == "waiting for approval by the supervisor (l-istomova)"
    recording.approve(app.store, app.directories, code=CODE, by="l-istomova", now=app.now())
    tending.tend_case(app, CODE)
    assert "waiting:approval" not in prefect.tags[run_id]
    assert prefect.messages[run_id] == "open: check (check-ins every 1h)"
    # The partner hears of the step (else it would end "not delivered"), as the sender does.
    send_due(app.store, app.directories, app.notifier, now=app.now(), policy=app.send_policy)
    paper.at = T0 + 71 * 60 * S  # the first check-in, and its grace period, are past
    clock.tick(app)
    assert {"attention", "missed"} <= set(prefect.tags[run_id])
    paper.at = T0 + 3 * 3600 * S  # the second is missed too: the plan ends
    assert clock.tick(app) == {"resumed": 1}
    assert "ended:check-ins-missed" in prefect.tags[run_id]
    assert not {"living", "missed", "attention", "domain:medical"} & set(prefect.tags[run_id])
    assert prefect.tags[run_id][0] == "rehab", "tags the engine does not own are kept"
    told = [(e["event"], e["payload"].get("step")) for e in prefect.emitted]
    assert ("rehab.step.started", "check") in told
    assert ("rehab.check-in.missed", "check") in told
    assert ("rehab.plan.completed", None) in told
    assert {e["related"][0]["prefect.resource.id"] for e in prefect.emitted} == {
        f"prefect.flow-run.{run_id}"
    }


def actions(app: App) -> list[tuple[str, str, dict[str, str]]]:
    with app.store.session() as session:
        rows = session.scalars(select(AuditRow).where(AuditRow.case_code == CODE))
        return [(r.actor, r.action, dict(r.detail)) for r in rows]


def test_a_cancel_from_the_prefect_ui_on_a_living_plan_is_undone_and_audited(
    app: App, prefect: RecordingPrefect
) -> None:
    launch(app, plan())
    clock.tick(app)
    run_id = f"run-{CODE}-1"
    prefect.states[run_id] = "cancelled"  # clicked in the UI: no one says who
    assert tending.answer_ui_cancels(app, since=T0) == 1
    assert prefect.states[run_id] == "suspended"
    assert "undone" in prefect.published[run_id][-1][1]
    assert ("prefect-ui", "ui-cancel-undone", {"run": "plan"}) in actions(app)
    assert queries.case_status(app.store, code=CODE)["state"] == "active"
    assert tending.answer_ui_cancels(app, since=T0) == 0, "once"


def test_a_cancel_from_the_prefect_ui_on_a_waiting_form_is_undone_but_not_on_a_taken_one(
    app: App, prefect: RecordingPrefect
) -> None:
    launch(app, plan(), approval=True)
    clock.tick(app)
    [form] = [r for r, name in prefect.runs.items() if name == f"{CODE} · approval"]
    prefect.states[form] = "cancelled"
    assert tending.answer_ui_cancels(app, since=T0) == 1
    assert ("prefect-ui", "ui-cancel-undone", {"run": "approval"}) in actions(app)
    recording.approve(app.store, app.directories, code=CODE, by="l-istomova", now=app.now())
    prefect.states[form] = "cancelled"  # as the engine itself ends a form no longer needed
    assert tending.answer_ui_cancels(app, since=T0) == 0


def test_a_plan_run_deleted_in_the_prefect_ui_is_made_again_at_the_next_wake(
    app: App, prefect: RecordingPrefect, paper: PaperClock
) -> None:
    launch(app, plan(check_ins={"every": "60s"}))
    clock.tick(app)
    old = f"run-{CODE}-1"
    prefect.states[old] = "deleted"
    del prefect.runs[old]
    paper.at = T0 + 60 * S
    assert clock.tick(app) == {"recreated": 1}
    assert prefect.called("start_plan_run") == [CODE, CODE]
    assert queries.case_status(app.store, code=CODE)["flow_run_id"] == old, (
        "the fake gives the same id; the real server a new one"
    )
    assert ("prefect-ui", "plan-run-recreated", {"run": "plan"}) in actions(app)


def test_a_plan_its_launcher_follows_up_is_left_to_it_and_taken_by_the_clock_only_after(
    app: App, prefect: RecordingPrefect, paper: PaperClock
) -> None:
    """Two followers of one new run would both make its artifacts: the clock keeps off a
    launch whose launcher starts the run and its first wake itself, until the hold ends."""
    hold = engine_client.LAUNCHER_FOLLOWS_UP
    launch(app, plan(), with_run=False, followed_up_by=app.now() + hold)
    assert clock.tick(app) == {}, "the launcher's to follow up"
    assert prefect.called("start_plan_run") == []
    paper.at = T0 + hold
    assert clock.tick(app) == {"started": 1, "updated": 1}, "a launcher that stopped: the clock"


def test_a_launch_whose_run_could_not_be_made_is_the_clocks_at_its_next_tick(
    app: App, prefect: RecordingPrefect
) -> None:
    p = plan()
    launch(
        app,
        p,
        with_run=False,
        followed_up_by=engine_client.Engine(app.settings).follow_up_by(app),
    )
    prefect.failing.add("start_plan_run")
    with pytest.raises(RunNotCreated):
        engine_client.Engine(app.settings).start_plan(app, p)
    prefect.failing.clear()
    assert clock.tick(app) == {"started": 1, "updated": 1}


def launch_many(app: App, codes: list[str], **step: object) -> None:
    """Plans due at once, each with its run, as a tick finds them."""
    for code in codes:
        launch(app, plan(**step).model_copy(update={"case": code}))


def test_a_ticks_wakes_read_their_runs_and_send_their_lines_and_events_together(
    app: App, prefect: RecordingPrefect, paper: PaperClock
) -> None:
    codes = [f"BC-CLOCK-{n}" for n in range(1, 4)]
    launch_many(app, codes, check_ins={"every": "1h", "first": "10s", "grace": "10m"})
    assert clock.tick(app) == {"updated": 3}
    assert prefect.called("read_ahead") == ["3"], "the three runs read in one request"
    assert len(prefect.called("post_logs")) == 1 and len(prefect.called("emit_events")) == 1
    assert all(prefect.published[f"run-{c}-1"][0][1] == "step-started check" for c in codes)
    paper.at = T0 + 11 * S
    clock.tick(app)  # each plan's first check-in falls due: three forms, opened together
    assert prefect.called("open_decision_runs")[-1] == "3"
    assert sorted(prefect.called("open_decision_run")[-3:]) == [
        f"{c} · check-in · check #1" for c in codes
    ]
    assert len(prefect.called("post_logs")) == 2


def test_lines_that_could_not_be_sent_leave_the_ticks_plans_due_at_the_next_tick(
    app: App, prefect: RecordingPrefect, paper: PaperClock
) -> None:
    codes = ["BC-CLOCK-1", "BC-CLOCK-2"]
    launch_many(app, codes)
    prefect.failing.add("post_logs")
    clock.tick(app)
    assert all(
        queries.case_status(app.store, code=c)["wake_at"] == (T0 + INTERVAL).isoformat()
        for c in codes
    ), "shown afresh at the next tick"
    prefect.failing.clear()
    paper.at = T0 + INTERVAL
    assert clock.tick(app) == {"updated": 2}


def test_messages_the_outbox_sends_after_a_wake_are_shown_on_the_run_at_the_next_tick(
    app: App, prefect: RecordingPrefect
) -> None:
    """The timeline counts each step's messages: once the outbox has sent them, the case is
    due, so its run stops saying they are pending."""
    launch(app, plan())
    clock.tick(app)  # the step starts; its referral is queued
    run_id = f"run-{CODE}-1"
    assert "| `check` | pending 1 |" in prefect.timelines[run_id]
    stop = threading.Event()
    sender = threading.Thread(target=clock.run_outbox, args=(app, stop))
    sender.start()
    try:
        deadline = time.monotonic() + 30
        while wake_at(app) != T0 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        sender.join()
    assert wake_at(app) == T0, "due again once its message went"
    clock.tick(app)
    assert "| `check` | sent 1 |" in prefect.timelines[run_id]
