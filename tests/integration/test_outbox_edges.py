"""The outbox where real deployments trip: a message that cannot be written, steps an amendment
removes, a supervisor who changes, markup in a title, and the nights the clocks change. Real
SMTP on 127.0.0.1; time passed in explicitly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, select

from casework.domain.notices import Notice, after_quiet_hours
from casework.services import engine, plan_changes, recording
from casework.store import queries
from casework.store.db import Store
from casework.store.outbox_rows import queue_notices
from casework.store.tables import AuditRow, OutboxRow
from notifications.notifier import AppriseNotifier, Delivery
from notifications.outbox import send_due
from plans.directories import Directories, PartnerDirectory, StaffDirectory
from plans.model import Plan
from tests.conftest import T0
from tests.endpoints import SmtpServer
from tests.integration.test_outbox import (
    FAST,
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

M = timedelta(minutes=1)
BERLIN = ZoneInfo("Europe/Berlin")
STAY = {"id": "stay", "domain": "housing", "title": "Shelter", "partner": "shelter"}


def test_a_message_that_cannot_be_written_dies_and_the_supervisor_and_manager_are_told(
    store: Store, smtp: SmtpServer
) -> None:
    # A row of a kind this engine's catalog does not know, as a newer runner might queue
    # during an upgrade: it can never be written, so it must not stay claimed forever.
    dirs = directories(smtp, language="en")
    launch(store, dirs, plan(clinic_step()))
    with store.session() as session:
        queue_notices(
            session,
            now=T0,
            notices=[Notice("kind-of-a-newer-engine", "partner:clinic", "BC-MSG-1", T0, "check")],
        )
    results = [send(store, dirs, T0 + k * 10 * S) for k in range(4)]
    assert results[:3] == [{"retry": 1}, {"retry": 1}, {"dead": 1}]
    assert results[3] == {"sent": 2}, "the supervisor and the case manager are told"
    [dead] = [r for r in outbox(store) if r.kind == "kind-of-a-newer-engine"]
    assert dead.status == "dead" and dead.attempts == 3
    assert dead.last_error == "could not be written (KeyError)"
    assert [m.subject for m in smtp.to("boss@ngo.example")] == ["Undelivered message BC-MSG-1"]
    assert [m.subject for m in smtp.to("cm@ngo.example")] == ["Undelivered message BC-MSG-1"]
    assert not [r for r in outbox(store) if r.status == "sending"], "nothing stays claimed"
    with store.session() as session:
        actions = session.scalars(
            select(AuditRow.action).where(
                AuditRow.actor == "outbox", AuditRow.action != "message-sent"
            )
        ).all()
    assert actions == ["message-failed", "message-failed", "message-dead"]


def test_the_partner_of_a_step_an_amendment_removed_is_told_it_is_cancelled(
    store: Store, smtp: SmtpServer
) -> None:
    dirs = directories(smtp, language="en")
    launch(store, dirs, plan(clinic_step(), STAY))
    engine.reconcile(store, code="BC-MSG-1", now=T0)
    assert send(store, dirs, T0) == {"sent": 2}, "both referrals"
    plan_changes.amend(store, dirs, plan=plan(STAY), by="cm", now=T0 + M)
    assert send(store, dirs, T0 + 2 * M) == {"sent": 1}
    assert [m.subject for m in smtp.to("intake@clinic.example")] == [
        "Referral BC-MSG-1: Medical check",
        "Cancelled BC-MSG-1: Medical check",
    ]
    assert [m.subject for m in smtp.to("desk@shelter.example")] == [
        "Накіраванне BC-MSG-1: Shelter"
    ], "the step that stays is not touched"


def clinic_asleep_shelter_awake(store: Store, smtp: SmtpServer) -> Directories:
    """Case BC-MSG-1 woken with two referrals due: the clinic's, whose quiet hours last all day,
    and the shelter's; the directories that say so."""
    dirs = directories(smtp, language="en", quiet="00:00-23:59")
    launch(store, dirs, plan(clinic_step(), STAY))
    engine.reconcile(store, code="BC-MSG-1", now=T0)
    return dirs


def test_a_referral_still_unsent_when_its_step_is_removed_is_withdrawn_with_nothing_said(
    store: Store, smtp: SmtpServer
) -> None:
    dirs = clinic_asleep_shelter_awake(store, smtp)
    assert send(store, dirs, T0) == {"held": 1, "sent": 1}
    plan_changes.amend(store, dirs, plan=plan(STAY), by="cm", now=T0 + M)
    send(store, dirs, T0 + timedelta(days=1))
    assert smtp.to("intake@clinic.example") == [], "never referred, so never cancelled"
    [referral] = [r for r in outbox(store) if r.kind == "referral" and r.step_id == "check"]
    assert referral.status == "withdrawn"


def test_messages_quiet_hours_hold_are_held_from_the_passs_one_read_all_in_one_write(
    store: Store, smtp: SmtpServer
) -> None:
    dirs = directories(smtp, language="en", quiet="00:00-23:59")  # the clinic is asleep
    codes = [f"BC-MSG-{i}" for i in range(1, 13)]
    for code in codes:
        launch(store, dirs, plan(clinic_step()).model_copy(update={"case": code}))
        engine.reconcile(store, code=code, now=T0)
    statements: list[str] = []

    def counted(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(store.engine, "before_cursor_execute", counted)
    try:
        assert send(store, dirs, T0) == {"held": 12}
    finally:
        event.remove(store.engine, "before_cursor_execute", counted)
    assert smtp.received == []
    wakes = after_quiet_hours(T0, "00:00-23:59", ZoneInfo("Europe/Minsk"))
    referrals = [r for r in outbox(store) if r.kind == "referral"]
    assert [(r.case_code, r.status, r.next_attempt_at) for r in referrals] == [
        (code, "pending", wakes) for code in codes
    ]
    # The claim, the pass's read of the rows and their cases, and one write of the holds:
    # no case is read again for each message just to be held.
    assert len(statements) < 20, statements


def test_a_held_message_withdrawn_while_the_pass_still_sends_stays_withdrawn(
    store: Store, smtp: SmtpServer
) -> None:
    dirs = clinic_asleep_shelter_awake(store, smtp)

    class WithdrawingMeanwhile(AppriseNotifier):
        """Sends; and as it sends, the clinic's referral is withdrawn (its step amended)."""

        def send(self, urls: list[str], subject: str, body: str) -> Delivery:
            with store.session() as session:
                for row in session.scalars(select(OutboxRow).where(OutboxRow.step_id == "check")):
                    row.status, row.last_error = "withdrawn", "its step was amended"
            return super().send(urls, subject, body)

    sent = send_due(store, dirs, WithdrawingMeanwhile(throttle=0), now=T0, policy=FAST)
    assert dict(sent) == {"held": 1, "sent": 1}
    [clinic] = [r for r in outbox(store) if r.step_id == "check"]
    assert clinic.status == "withdrawn", "the pass does not put back what was withdrawn"
    send(store, dirs, T0 + timedelta(days=2))
    assert smtp.to("intake@clinic.example") == []


def two_supervisors(smtp: SmtpServer) -> Directories:
    base = directories(smtp, language="en")
    staff = StaffDirectory.model_validate(
        {
            "default_supervisor": "boss",
            "staff": {
                **{k: v.model_dump() for k, v in base.staff.staff.items()},
                "boss2": {
                    "name": "Deputy",
                    "role": "supervisor",
                    "language": "en",
                    "notify": [smtp.url("deputy@ngo.example")],
                },
            },
        }
    )
    return Directories(PartnerDirectory.model_validate(base.partners.model_dump()), staff)


def test_an_amended_supervisor_is_asked_to_approve_and_told_from_then_on(
    store: Store, smtp: SmtpServer
) -> None:
    dirs = two_supervisors(smtp)
    launch(store, dirs, plan(clinic_step(check_ins={"every": "1h", "grace": "1m"})), approval=True)
    send(store, dirs, T0)
    asked = "Plan BC-MSG-1 waits for your approval"
    assert [m.subject for m in smtp.to("boss@ngo.example")] == [asked]
    amended = Plan.model_validate(
        {
            **plan(clinic_step(check_ins={"every": "1h", "grace": "1m"})).model_dump(mode="json"),
            "supervisor": "boss2",
        }
    )
    plan_changes.amend(store, dirs, plan=amended, by="boss", now=T0 + M)
    assert queries.case_status(store, code="BC-MSG-1")["supervisor"] == "boss2"
    send(store, dirs, T0 + M)
    assert [m.subject for m in smtp.to("deputy@ngo.example")] == [asked]
    recording.approve(store, dirs, code="BC-MSG-1", by="boss2", now=T0 + 2 * M)
    for hours in range(1, 4):  # three check-ins missed in a row: the supervisor hears of it
        engine.reconcile(store, code="BC-MSG-1", now=T0 + timedelta(hours=hours, minutes=5))
    send(store, dirs, T0 + timedelta(hours=4))
    assert any(m.subject.startswith("Repeated misses") for m in smtp.to("deputy@ngo.example"))
    assert [m.subject for m in smtp.to("boss@ngo.example")] == [asked], (
        "the old supervisor hears nothing more of this case"
    )


def test_markup_in_a_step_title_reaches_the_partner_as_text_not_as_a_link(
    store: Store, smtp: SmtpServer
) -> None:
    dirs = directories(smtp, language="en")
    title = (
        'Intake <a href="http://evil.example/x">click here</a> '
        '<img src="http://track.example/pixel.gif">'
    )
    launch(store, dirs, plan(clinic_step(title=title)))
    engine.reconcile(store, code="BC-MSG-1", now=T0)
    assert send(store, dirs, T0) == {"sent": 1}
    [mail] = smtp.to("intake@clinic.example")
    assert mail.html == [], "plain text only: no HTML part in which markup would come alive"
    assert 'Intake <a href="http://evil.example/x">click here</a>' in mail.body, (
        "the title arrives as the case manager typed it, as text"
    )


def test_quiet_hours_hold_on_the_night_the_clocks_go_back(store: Store, smtp: SmtpServer) -> None:
    # Berlin, 25 October 2026: 03:00 CEST becomes 02:00 CET at 01:00 UTC, so 02:00-03:00
    # happens twice. Quiet hours 22:00-02:30: a message due at 02:15 the second time round
    # (01:15 UTC) must wait for 02:30 of that second pass (01:30 UTC), not go out at once.
    dirs = berlin_clinic(smtp)
    due = datetime(2026, 10, 25, 1, 15, tzinfo=UTC)
    assert due.astimezone(BERLIN).strftime("%H:%M %Z") == "02:15 CET"
    launch_at(store, dirs, due)
    assert send(store, dirs, due) == {"held": 1}
    assert send(store, dirs, datetime(2026, 10, 25, 1, 29, 59, tzinfo=UTC)) == {}
    assert send(store, dirs, datetime(2026, 10, 25, 1, 30, tzinfo=UTC)) == {"sent": 1}


def test_quiet_hours_end_when_the_clocks_jump_past_their_end_in_spring(
    store: Store, smtp: SmtpServer
) -> None:
    # Berlin, 29 March 2026: 02:00 CET becomes 03:00 CEST at 01:00 UTC; 02:30 never happens.
    # Quiet hours 22:00-02:30 end at the jump, 03:00 CEST.
    dirs = berlin_clinic(smtp)
    due = datetime(2026, 3, 29, 0, 15, tzinfo=UTC)
    launch_at(store, dirs, due)
    assert send(store, dirs, due) == {"held": 1}
    assert send(store, dirs, datetime(2026, 3, 29, 0, 59, 59, tzinfo=UTC)) == {}
    assert send(store, dirs, datetime(2026, 3, 29, 1, 0, tzinfo=UTC)) == {"sent": 1}
    [mail] = smtp.to("intake@clinic.example")
    assert mail.subject.startswith("Referral")


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        ("2026-10-25T00:15+00:00", "2026-10-25T00:30+00:00"),  # 02:15 CEST: 02:30 CEST is ahead
        ("2026-10-25T01:15+00:00", "2026-10-25T01:30+00:00"),  # 02:15 CET: 02:30 CET
        ("2026-10-25T01:45+00:00", "2026-10-25T01:45+00:00"),  # 02:45 CET: outside already
        ("2026-03-28T21:30+00:00", "2026-03-29T01:00+00:00"),  # 22:30 CET: the jump to 03:00
        ("2026-06-01T23:00+00:00", "2026-06-02T00:30+00:00"),  # an ordinary night
    ],
)
def test_quiet_hours_are_wall_clock_ranges_in_the_recipients_zone(
    local: str, expected: str
) -> None:
    at = datetime.fromisoformat(local)
    assert after_quiet_hours(at, "22:00-02:30", BERLIN) == datetime.fromisoformat(expected)


def berlin_clinic(smtp: SmtpServer) -> Directories:
    dirs = directories(smtp, quiet="22:00-02:30", language="en")
    clinic = dirs.partners.partners["clinic"].model_copy(update={"timezone": "Europe/Berlin"})
    partners = PartnerDirectory(partners={**dirs.partners.partners, "clinic": clinic})
    return Directories(partners, dirs.staff)


def launch_at(store: Store, dirs: Directories, at: datetime) -> None:
    p = Plan.model_validate(
        {
            "case": "BC-MSG-1",
            "manager": "cm",
            "timezone": "UTC",
            "start": at.strftime("%Y-%m-%dT%H:%M"),
            "steps": [clinic_step()],
        }
    )
    plan_changes.launch(store, dirs, plan=p, by="cm", now=at, approval_required=False)
    engine.reconcile(store, code="BC-MSG-1", now=at)
    with store.session() as session:
        [row] = session.scalars(select(OutboxRow)).all()
        assert row.kind == "referral" and row.due_at == at


def test_an_amendment_adding_a_step_asks_the_supervisor_and_the_step_waits_for_approval(
    store: Store, smtp: SmtpServer
) -> None:
    dirs = directories(smtp, language="en")
    launch(store, dirs, plan(clinic_step()))
    engine.reconcile(store, code="BC-MSG-1", now=T0)
    plan_changes.amend(store, dirs, plan=plan(clinic_step(), STAY), by="cm", now=T0 + M)
    engine.reconcile(store, code="BC-MSG-1", now=T0 + 2 * M)
    send(store, dirs, T0 + 2 * M)
    assert [m.subject for m in smtp.to("boss@ngo.example")] == [
        "Plan BC-MSG-1: an amendment waits for your approval"
    ]
    assert smtp.to("desk@shelter.example") == [], "the new partner hears nothing yet"
    status = queries.case_status(store, code="BC-MSG-1")
    assert status["awaiting_amendment_approval"] == ["stay"]
    recording.approve(store, dirs, code="BC-MSG-1", by="boss", now=T0 + 3 * M)
    engine.reconcile(store, code="BC-MSG-1", now=T0 + 3 * M)
    send(store, dirs, T0 + 3 * M)
    assert [m.subject for m in smtp.to("desk@shelter.example")] == ["Накіраванне BC-MSG-1: Shelter"]
