"""One bad case never stops the engine (security.md rule 13): a case whose wake fails, or would
create more check-ins than one wake may, is quarantined, reported and left alone, and every
other due case is still tended. A real case store (SQLite and PostgreSQL), the Prefect side as
the recording fake, a paper clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from casework.domain import notices as messages
from casework.domain.case import MAX_CHECK_INS_PER_WAKE, Case
from casework.domain.errors import WakeTooLarge
from casework.domain.time_passes import advance
from casework.services import engine, plan_changes, recording, wake
from casework.store import queries
from casework.store.tables import AuditRow, CaseRow, OutboxRow, PlanRevisionRow
from flows import clock, tending
from flows.app import App
from flows.prefect.fake import RecordingPrefect
from flows.settings import Settings
from notifications.notifier import RecordingNotifier
from notifications.outbox import send_due
from plans.model import Plan
from tests.conftest import T0, PaperClock

S = timedelta(seconds=1)
INTERVAL = 60 * S
BAD, GOOD = "BC-BAD-1", "BC-GOOD-1"


@pytest.fixture
def app(
    store_url: str, tmp_path: Path, prefect: RecordingPrefect, paper: PaperClock
) -> Iterator[App]:
    settings = Settings(
        home=tmp_path, database_url=store_url, clock_interval=INTERVAL, stale_run_after=120 * S
    )
    engine = App(settings, prefect=prefect, notifier=RecordingNotifier(), clock=paper)
    yield engine
    engine.close()


def plan(code: str, **check_ins: object) -> Plan:
    return Plan.model_validate(
        {
            "case": code,
            "manager": "n-zdolnik",
            "steps": [
                {
                    "id": "talk",
                    "domain": "psychological",
                    "title": "Psychologist",
                    "partner": "brest-psychologist",
                    "check_ins": {"every": "1h", "first": "30s", "grace": "1h", **check_ins},
                }
            ],
        }
    )


def launch(app: App, p: Plan) -> str:
    plan_changes.launch(
        app.store, app.directories, plan=p, by="n-zdolnik", now=app.now(), approval_required=False
    )
    run_id = app.prefect.start_plan_run(p.case, 1, [])
    engine.set_flow_run(app.store, code=p.case, flow_run_id=run_id, now=app.now())
    return run_id


def hand_edit(app: App, code: str, **check_ins: str) -> None:
    """What an old store or a hand edit leaves: the stored plan changed under validation."""
    with app.store.session() as session:
        revision = session.scalars(
            select(PlanRevisionRow).join(CaseRow).where(CaseRow.code == code)
        ).one()
        stored: dict[str, Any] = dict(revision.plan)
        stored["steps"] = [
            {**s, "check_ins": {**s["check_ins"], **check_ins}} for s in stored["steps"]
        ]
        revision.plan = stored


def status(app: App, code: str) -> dict[str, Any]:
    return queries.case_status(app.store, code=code)


def audit_actions(app: App, code: str) -> list[tuple[str, str]]:
    with app.store.session() as session:
        rows = session.scalars(select(AuditRow).where(AuditRow.case_code == code))
        return [(r.actor, r.action) for r in rows]


def test_a_case_inserted_with_check_ins_every_0s_is_quarantined_and_the_healthy_case_still_fires(
    app: App, prefect: RecordingPrefect, paper: PaperClock
) -> None:
    bad_run = launch(app, plan(BAD))
    good_run = launch(app, plan(GOOD))
    hand_edit(app, BAD, every="0s", first="0s")
    assert clock.tick(app) == {"quarantined": 1, "updated": 1}
    paper.at = T0 + 31 * S  # the healthy case's first check-in is due
    assert clock.tick(app) == {"updated": 1}, "the quarantined case is left alone"
    assert [c["outcome"] for c in status(app, GOOD)["steps"][0]["check_ins"]] == ["pending"]
    assert prefect.runs[f"decision-{GOOD}/1/check-in/talk-1"] == f"{GOOD} · check-in · talk #1"
    bad = status(app, BAD)
    assert bad["quarantined"] is not None and bad["quarantined"]["reason"]
    assert bad["state"] == "active" and bad["wake_at"] is None
    assert bad["steps"][0]["check_ins"] == [], "nothing of the failed wake was saved"
    assert "failed" in prefect.tags[bad_run] and "failed" not in prefect.tags[good_run]
    assert prefect.messages[bad_run].startswith("quarantined: ")


def test_a_wake_that_would_create_too_many_check_ins_is_refused_before_anything_changes() -> None:
    p = plan(BAD, every="1s", first="1s")
    case = Case.new(p, T0, approval_required=False)
    advance(case, T0)
    with pytest.raises(WakeTooLarge) as refused:
        advance(case, T0 + 2 * 3600 * S)  # 7200 check-ins due at once
    assert refused.value.step == "talk" and refused.value.limit == MAX_CHECK_INS_PER_WAKE
    assert "talk" in str(refused.value) and "every 1s" in str(refused.value)
    day = Case.new(p, T0, approval_required=False)
    advance(day, T0)
    assert len(advance(day, T0 + 600 * S)) >= 600, "a bound, not a ban: 600 come at once"


def test_the_quarantine_is_audited_reported_to_supervisor_and_manager_and_shown_on_the_run(
    app: App, prefect: RecordingPrefect, paper: PaperClock
) -> None:
    run_id = launch(app, plan(BAD, every="1s", first="1s"))
    clock.tick(app)
    paper.at = T0 + 2 * 3600 * S  # e.g. the engine was down for two hours
    assert clock.tick(app) == {"quarantined": 1}
    reason = "one wake would create more than 1000 check-ins of step talk (check_ins.every 1s)"
    assert status(app, BAD)["quarantined"] == {"at": paper.at.isoformat(), "reason": reason}
    assert ("engine", "case-quarantined") in audit_actions(app, BAD)
    assert prefect.messages[run_id] == (
        f"quarantined: {reason}; no more wakes until its plan is amended (on its case page)"
    )
    assert {"plan", "living", "failed", "manager:n-zdolnik"} <= set(prefect.tags[run_id])
    sent = send_due(
        app.store,
        app.directories,
        app.notifier,
        now=app.now(),
        policy=app.send_policy,
        links=app.partner_links,  # as the outbox thread sends (flows/clock.py)
    )
    assert sent["sent"] >= 2
    told = [
        (url.split("to=")[1], body)
        for url, subject, body in app.notifier.sent  # type: ignore[attr-defined]  # the fake
        if subject == f"План {BAD} на карантине"  # both read Russian (the directory says)
    ]
    assert sorted(to for to, _ in told) == ["director@ngo.example", "n.zdolnik@ngo.example"]
    # Why, in the words of their language (notifications/words.py), and a link to the case's
    # page at the door, where its plan is amended (staff have no shell).
    in_russian = "одна обработка создала бы больше 1000 встреч этапа talk (периодичность 1s)"
    page = f"{app.settings.door_url.rstrip('/')}/rehab/cases/{BAD}"
    assert all(in_russian in body and page in body for _, body in told)
    wakes = status(app, BAD)["steps"][0]["check_ins"]
    paper.at += 10 * INTERVAL
    assert clock.tick(app) == {}, "no more wakes until a person acts"
    assert status(app, BAD)["steps"][0]["check_ins"] == wakes
    with app.store.session() as session:
        reminders = session.scalars(
            select(OutboxRow.status).where(OutboxRow.case_code == BAD, OutboxRow.kind == "reminder")
        ).all()
    assert "pending" not in reminders


def test_an_amendment_that_fixes_the_plan_lifts_the_quarantine_and_the_case_is_tended_again(
    app: App, prefect: RecordingPrefect, paper: PaperClock
) -> None:
    run_id = launch(app, plan(BAD, every="1s", first="1s"))
    clock.tick(app)
    paper.at = T0 + 2 * 3600 * S
    clock.tick(app)
    plan_changes.amend(app.store, app.directories, plan=plan(BAD), by="n-zdolnik", now=app.now())
    assert status(app, BAD)["quarantined"] is None
    assert ("n-zdolnik", "quarantine-lifted") in audit_actions(app, BAD)
    assert clock.tick(app) == {"updated": 1}
    assert len(status(app, BAD)["steps"][0]["check_ins"]) == 2, "30 s and 1 h 30 s: due now"
    assert "failed" not in prefect.tags[run_id]
    assert not prefect.messages[run_id].startswith("quarantined")


def test_approving_a_plan_the_engine_cannot_tend_records_the_approval_and_says_quarantined(
    app: App, prefect: RecordingPrefect, paper: PaperClock
) -> None:
    plan_changes.launch(
        app.store,
        app.directories,
        plan=plan(BAD),
        by="n-zdolnik",
        now=app.now(),
        approval_required=True,
    )
    # A stored plan that still loads (every 0s no longer does: it is quarantined as invalid)
    # but that one wake cannot tend: check-ins every second, first looked at two hours on.
    hand_edit(app, BAD, every="1s", first="1s")
    recording.approve(app.store, app.directories, code=BAD, by="l-istomova", now=app.now())
    paper.at = T0 + 2 * 3600 * S
    said = tending.tend_case(app, BAD)  # what `rehab plan approve` prints after "plan"
    assert said == "no flow run yet", "its run comes from the clock; the store's work is done"
    shown = status(app, BAD)
    assert shown["approved_at"] is not None and shown["quarantined"] is not None
    run_id = tending.new_run(app, BAD)
    assert tending.tend_case(app, BAD).startswith("quarantined: one wake would create more")
    assert "failed" in prefect.tags[run_id]


def test_a_case_raising_while_its_messages_are_queued_is_quarantined_and_the_other_goes_on(
    app: App, prefect: RecordingPrefect, paper: PaperClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    launch(app, plan(BAD))
    launch(app, plan(GOOD))
    real = messages.notices_for

    def breaks_for_bad(event: Any, case: Any, supervisor: str, **kw: Any) -> Any:
        if case.code == BAD:
            raise KeyError("a stored value")
        return real(event, case, supervisor, **kw)

    monkeypatch.setattr("casework.services.unit_of_work.notices_for", breaks_for_bad)
    assert clock.tick(app) == {"quarantined": 1, "updated": 1}
    assert status(app, BAD)["quarantined"]["reason"] == "its wake failed (KeyError)"
    assert status(app, GOOD)["steps"][0]["state"] == "open"


def test_trouble_that_is_not_the_cases_own_makes_it_due_again_without_a_quarantine(
    app: App, paper: PaperClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    launch(app, plan(BAD))
    launch(app, plan(GOOD))
    real = wake.wake

    def store_away_for_bad(store: Any, *, code: str, now: datetime, **kw: Any) -> wake.Woken:
        if code == BAD:
            raise OperationalError("SELECT", {}, Exception("server closed the connection"))
        return real(store, code=code, now=now, **kw)

    monkeypatch.setattr(wake, "wake", store_away_for_bad)
    assert clock.tick(app) == {"errors": 1, "updated": 1}
    assert status(app, BAD)["quarantined"] is None
    assert status(app, BAD)["wake_at"] is not None, "still due: the next tick tries again"


def test_a_prefect_failure_for_one_case_stops_nothing_for_the_others(
    app: App, prefect: RecordingPrefect, paper: PaperClock
) -> None:
    class FailsForOne(RecordingPrefect):
        def publish(self, flow_run_id: str, **kw: Any) -> None:
            if flow_run_id == f"run-{BAD}-1":
                raise ConnectionError("refused")
            super().publish(flow_run_id, **kw)

    one = FailsForOne()
    app.prefect = one
    launch(app, plan(BAD))
    launch(app, plan(GOOD))
    assert clock.tick(app) == {"errors": 1, "updated": 1}
    assert status(app, BAD)["steps"][0]["state"] == "open", "its store work is saved"
    assert status(app, BAD)["quarantined"] is None, "Prefect's trouble is not the case's"
    assert one.published[f"run-{GOOD}-1"]


def test_plan_status_shows_a_quarantined_case_whose_stored_plan_no_longer_loads(
    app: App, paper: PaperClock
) -> None:
    launch(app, plan(BAD))
    clock.tick(app)
    hand_edit(app, BAD, every="not a duration")
    assert clock.tick(app) == {}, "not due yet"
    paper.at = T0 + 31 * S
    assert clock.tick(app) == {"quarantined": 1}
    shown = status(app, BAD)
    assert shown["quarantined"]["reason"] == "its wake failed (ValidationError)"
    assert shown["steps"][0]["id"] == "talk" and shown["state"] == "active"
