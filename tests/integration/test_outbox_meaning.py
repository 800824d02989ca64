"""A message goes only while it means something: one whose reason has gone (a decision taken,
a check-in come or recorded, a step ended) is withdrawn, and says why; an urgent referral
ignores quiet hours; a referral is never withdrawn in silence. Real SMTP on 127.0.0.1."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from casework.domain.case import Case
from casework.domain.notices import Notice
from casework.services import engine, recording
from casework.store import queries
from casework.store.case_mapping import to_domain
from casework.store.db import Store
from casework.store.outbox_rows import queue_notices
from casework.store.report_source import read_people
from casework.store.repository import get_case_row
from casework.store.tables import AuditRow
from flows.shown.render import status_text
from flows.shown.tags import case_tags, state_message
from tests.conftest import T0
from tests.endpoints import SmtpServer
from tests.integration.test_outbox import (
    S,
    clinic_step,
    directories,
    launch,
    outbox,
    plan,
    send,
    smtp,
)

__all__ = ["smtp"]  # the fixture, shared with test_outbox

M, H, D = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)


def test_an_approval_request_still_unsent_when_the_plan_is_approved_is_withdrawn(
    store: Store, smtp: SmtpServer
) -> None:
    dirs = directories(smtp, language="en")
    launch(store, dirs, plan(clinic_step()), approval=True)
    recording.approve(store, dirs, code="BC-MSG-1", by="boss", now=T0 + 34 * S)
    send(store, dirs, T0 + 35 * S)
    assert smtp.to("boss@ngo.example") == [], "nobody asks her to approve an approved plan"
    [request] = [r for r in outbox(store) if r.kind == "approval-request"]
    assert (request.status, request.last_error) == ("withdrawn", "the plan was decided on")
    status = queries.case_status(store, code="BC-MSG-1")
    assert status["messages"]["staff:boss"]["withdrawn"] == 1


def test_a_message_whose_reason_went_before_the_sender_took_it_is_withdrawn_and_audited(
    store: Store, smtp: SmtpServer
) -> None:
    dirs = directories(smtp, language="en")
    launch(store, dirs, plan(clinic_step(consent=["medical"])))
    engine.reconcile(store, code="BC-MSG-1", now=T0)
    recording.record_consent(
        store, dirs, code="BC-MSG-1", scopes=["medical"], status="given", by="cm", now=T0 + S
    )
    with store.session() as session:  # as a racing wake might have queued it a moment before
        queue_notices(
            session,
            now=T0 + S,
            notices=[Notice("consent-request", "staff:cm", "BC-MSG-1", T0, "check", "medical,x")],
        )
    assert send(store, dirs, T0 + 2 * S) == {"withdrawn": 1}
    assert not [m for m in smtp.to("cm@ngo.example") if m.subject.startswith("Consent")]
    with store.session() as session:
        actions = session.scalars(select(AuditRow.action).where(AuditRow.actor == "outbox"))
        assert "message-withdrawn" in list(actions)


def test_a_missed_check_in_recorded_before_its_notice_went_is_not_announced(
    store: Store, smtp: SmtpServer
) -> None:
    dirs = directories(smtp, language="en")
    launch(store, dirs, plan(clinic_step(check_ins={"every": "1h", "grace": "5m"})))
    engine.reconcile(store, code="BC-MSG-1", now=T0)
    engine.reconcile(store, code="BC-MSG-1", now=T0 + H + 5 * M)  # marked missed
    recording.record_check_in(
        store, dirs, code="BC-MSG-1", step="check", outcome="attended", by="cm", now=T0 + H + 6 * M
    )
    send(store, dirs, T0 + H + 7 * M)
    assert not [m for m in smtp.to("cm@ngo.example") if m.subject.startswith("Missed")]
    [notice] = [r for r in outbox(store) if r.kind == "check-in-missed"]
    assert (notice.status, notice.last_error) == ("withdrawn", "the check-in was recorded")


def test_an_urgent_referral_reaches_its_partner_inside_quiet_hours(
    store: Store, smtp: SmtpServer
) -> None:
    dirs = directories(smtp, quiet="21:00-08:00", language="en")
    crisis = clinic_step(id="crisis-room", domain="housing", duration="1d", urgent=True)
    launch(store, dirs, plan(crisis))
    at = T0 - 97 * M  # 07:23 local
    engine.reconcile(store, code="BC-MSG-1", now=T0)
    assert send(store, dirs, at + 2 * H) == {"sent": 1}
    assert send(store, dirs, T0 - 90 * M) == {}  # nothing more, and nothing held
    [mail] = smtp.to("intake@clinic.example")
    assert mail.subject.startswith("Referral")
    assert to_domain_of(store).steps["crisis-room"].referral == "sent"


def test_a_referral_whose_step_ran_its_time_unsent_is_withdrawn_aloud_and_not_help_received(
    store: Store, smtp: SmtpServer
) -> None:
    dirs = directories(smtp, quiet="00:00-23:59", language="en")  # the clinic never wakes
    launch(store, dirs, plan(clinic_step(id="crisis-room", domain="housing", duration="1d")))
    engine.reconcile(store, code="BC-MSG-1", now=T0)
    assert send(store, dirs, T0) == {"held": 1}
    engine.reconcile(store, code="BC-MSG-1", now=T0 + D)  # the one-day step ends
    send(store, dirs, T0 + D + S)
    assert smtp.to("intake@clinic.example") == []
    [told] = [m for m in smtp.to("cm@ngo.example") if m.subject.startswith("Not delivered")]
    assert told.subject == "Not delivered BC-MSG-1: Medical check"
    assert "never told" in told.body
    [referral] = [r for r in outbox(store) if r.kind == "referral"]
    assert referral.status == "withdrawn"
    case = to_domain_of(store)
    assert case.state == "completed" and case.steps["crisis-room"].referral == "withdrawn"
    assert "ended:help-received" not in case_tags(case, supervisor="boss", now=T0 + D)
    assert "ended:not-delivered" in case_tags(case, supervisor="boss", now=T0 + D)
    assert "not delivered" in state_message(case, supervisor="boss")
    status = queries.case_status(store, code="BC-MSG-1")
    [step] = status["steps"]
    assert (step["referral"], step["delivered"]) == ("withdrawn", False)
    [person] = read_people(store, dirs, tz="Europe/Minsk")  # what the programme report reads
    assert [s.delivered for s in person.steps] == [False] and person.episodes[0].not_delivered
    text = status_text(status, None)
    assert "NOT DELIVERED (its partner was never told)" in text
    assert (
        "withdrawn unsent: referral to partner:clinic (crisis-room): the step was completed "
        "before its partner was told"
    ) in text


def to_domain_of(store: Store) -> Case:
    with store.session() as session:
        return to_domain(get_case_row(session, code="BC-MSG-1"))
