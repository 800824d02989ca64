"""The outbox delivers through apprise to real endpoints on 127.0.0.1: an SMTP server and an
HTTP receiver. Time is passed in explicitly, so months take no time at all."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from casework.domain.notices import NOTICE_KINDS
from casework.services import engine, plan_changes, recording
from casework.store.db import Store, open_store
from casework.store.tables import AuditRow, OutboxRow
from notifications.apprise_log import url_parts, without_secrets
from notifications.notifier import AppriseNotifier, RecordingNotifier
from notifications.outbox import Policy, send_due
from notifications.render import LANGUAGES, render
from plans.directories import Directories, PartnerDirectory, StaffDirectory
from plans.model import Plan
from tests.cli import rehab, rehab_process
from tests.conftest import T0
from tests.e2e.harness import free_port
from tests.endpoints import HttpReceiver, SmtpServer

S, M = timedelta(seconds=1), timedelta(minutes=1)
FAST = Policy(max_attempts=3, retry_base=S, retry_cap=10 * S)
PERSON = {
    "name": "Olesya Privatnaya",
    "contact": "+375 29 111-22-33",
    "birth_year": 1962,
    "exploitation": ["forced-marriage"],
}


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


def directories(
    smtp: SmtpServer,
    clinic: list[str] | None = None,
    quiet: str | None = None,
    language: str = "ru",
) -> Directories:
    partners = PartnerDirectory.model_validate(
        {
            "partners": {
                "clinic": {
                    "name": "Clinic",
                    "kind": "healthcare",
                    "region": "Brest",
                    "language": language,
                    "quiet_hours": quiet,
                    "notify": clinic or [smtp.url("intake@clinic.example")],
                },
                "shelter": {
                    "name": "Shelter",
                    "kind": "shelter",
                    "region": "Brest",
                    "language": "be",
                    "notify": [smtp.url("desk@shelter.example")],
                },
            }
        }
    )
    staff = StaffDirectory.model_validate(
        {
            "default_supervisor": "boss",
            "staff": {
                "cm": {
                    "name": "Case Manager",
                    "role": "case-manager",
                    "language": "en",
                    "notify": [smtp.url("cm@ngo.example")],
                },
                "boss": {
                    "name": "Director",
                    "role": "supervisor",
                    "language": "en",
                    "notify": [smtp.url("boss@ngo.example")],
                },
            },
        }
    )
    return Directories(partners, staff)


def plan(*steps: dict[str, Any], person: bool = False) -> Plan:
    data: dict[str, Any] = {
        "case": "BC-MSG-1",
        "manager": "cm",
        "start": "2026-12-01T09:00",
        "steps": list(steps),
    }
    if person:
        data["person"] = PERSON
    return Plan.model_validate(data)


def clinic_step(**extra: Any) -> dict[str, Any]:
    return {
        "id": "check",
        "domain": "medical",
        "title": "Medical check",
        "partner": "clinic",
        **extra,
    }


def launch(store: Store, dirs: Directories, p: Plan, approval: bool = False) -> None:
    plan_changes.launch(store, dirs, plan=p, by="cm", now=T0, approval_required=approval)


def send(store: Store, dirs: Directories, at: datetime, policy: Policy = FAST) -> dict[str, int]:
    return dict(send_due(store, dirs, AppriseNotifier(throttle=0), now=at, policy=policy))


def outbox(store: Store) -> list[OutboxRow]:
    with store.session() as session:
        return list(session.scalars(select(OutboxRow).order_by(OutboxRow.id)))


def test_a_referral_reaches_the_partner_in_its_language_exactly_once(
    store: Store, smtp: SmtpServer
) -> None:
    dirs = directories(smtp)
    launch(store, dirs, plan(clinic_step()))
    engine.reconcile(store, code="BC-MSG-1", now=T0)
    engine.reconcile(store, code="BC-MSG-1", now=T0 + S)  # queueing again is a no-op
    assert send(store, dirs, T0 + S) == {"sent": 1}
    assert send(store, dirs, T0 + 2 * S) == {}
    [mail] = smtp.to("intake@clinic.example")
    assert mail.subject == "Направление BC-MSG-1: Medical check"
    assert "Case Manager (cm)" in mail.body and "2026-12-01 09:00 (Europe/Minsk)" in mail.body
    assert smtp.received == [mail], "the referral went to the clinic and no one else"


def test_reminders_arrive_at_their_lead_times_before_each_check_in(
    store: Store, smtp: SmtpServer
) -> None:
    dirs = directories(smtp, language="en")
    launch(store, dirs, plan(clinic_step(check_ins={"every": "1h", "remind": ["10m", "1m"]})))
    engine.reconcile(store, code="BC-MSG-1", now=T0)
    send(store, dirs, T0)
    assert send(store, dirs, T0 + 49 * M) == {}
    assert send(store, dirs, T0 + 50 * M) == {"sent": 1}
    assert send(store, dirs, T0 + 59 * M) == {"sent": 1}
    engine.reconcile(store, code="BC-MSG-1", now=T0 + 60 * M)  # check-in 1: next reminders
    assert send(store, dirs, T0 + 110 * M) == {"sent": 1}
    subjects = [m.subject for m in smtp.to("intake@clinic.example")]
    assert subjects[1:] == [
        "Reminder BC-MSG-1: Medical check on 2026-12-01 10:00 (Europe/Minsk)",
        "Reminder BC-MSG-1: Medical check on 2026-12-01 10:00 (Europe/Minsk)",
        "Reminder BC-MSG-1: Medical check on 2026-12-01 11:00 (Europe/Minsk)",
    ]


def test_a_reminder_whose_check_in_has_come_is_not_sent_late(
    store: Store, smtp: SmtpServer
) -> None:
    dirs = directories(smtp, language="en")
    launch(store, dirs, plan(clinic_step(check_ins={"every": "1h", "remind": ["10m"]})))
    engine.reconcile(store, code="BC-MSG-1", now=T0)
    send(store, dirs, T0)
    engine.reconcile(store, code="BC-MSG-1", now=T0 + 61 * M)  # the sender was down
    assert send(store, dirs, T0 + 61 * M) == {}
    assert [m.subject[:8] for m in smtp.to("intake@clinic.example")] == ["Referral"]
    [reminder] = [r for r in outbox(store) if r.kind == "reminder" and r.occurrence[0] == "0"]
    assert (reminder.status, reminder.last_error) == ("withdrawn", "its check-in has come")


def test_a_reminder_inside_quiet_hours_arrives_when_they_end(
    store: Store, smtp: SmtpServer
) -> None:
    dirs = directories(smtp, quiet="20:00-08:00", language="en")
    # Check-ins at 10:00 local; the reminder 3 hours before falls in the quiet hours.
    p = plan(clinic_step(start="11h", check_ins={"every": "1d", "first": "14h", "remind": ["3h"]}))
    launch(store, dirs, p)
    engine.reconcile(store, code="BC-MSG-1", now=T0 + timedelta(hours=11), directories=dirs)
    assert send(store, dirs, T0 + timedelta(hours=11)) == {"held": 1}, "the referral waits too"
    assert send(store, dirs, T0 + timedelta(hours=22)) == {"held": 1}  # 07:00: the reminder
    next_morning = T0 + timedelta(hours=23)  # 08:00 local
    assert send(store, dirs, next_morning - S) == {}
    assert send(store, dirs, next_morning) == {"sent": 2}
    assert all(
        m.subject.startswith(("Referral", "Reminder")) for m in smtp.to("intake@clinic.example")
    )


def test_a_reminder_quiet_hours_would_hold_past_its_check_in_goes_before_they_begin(
    store: Store, smtp: SmtpServer
) -> None:
    dirs = directories(smtp, quiet="20:00-08:00", language="en")
    # Check-ins at 21:00 local; the reminder 30 minutes before would wait until 08:00.
    p = plan(clinic_step(check_ins={"every": "1d", "first": "12h", "remind": ["30m"]}))
    launch(store, dirs, p)
    engine.reconcile(store, code="BC-MSG-1", now=T0, directories=dirs)
    assert send(store, dirs, T0) == {"sent": 1}, "the referral"
    ten_to_eight = T0 + timedelta(hours=10, minutes=50)  # 19:50 local
    assert send(store, dirs, ten_to_eight - S) == {}
    assert send(store, dirs, ten_to_eight) == {"sent": 1}
    assert [m.subject for m in smtp.to("intake@clinic.example")][1:] == [
        "Reminder BC-MSG-1: Medical check on 2026-12-01 21:00 (Europe/Minsk)"
    ]


def test_a_reminder_held_by_quiet_hours_until_its_check_in_is_withdrawn_not_sent_late(
    store: Store, smtp: SmtpServer
) -> None:
    dirs = directories(smtp, quiet="20:00-08:00", language="en")
    p = plan(clinic_step(check_ins={"every": "1d", "first": "12h", "remind": ["30m"]}))
    launch(store, dirs, p)
    engine.reconcile(store, code="BC-MSG-1", now=T0)  # queued as due: 20:30, inside them
    send(store, dirs, T0)
    assert send(store, dirs, T0 + timedelta(hours=11, minutes=30)) == {"withdrawn": 1}
    assert send(store, dirs, T0 + timedelta(hours=23)) == {}, "nothing the next morning"
    [reminder] = [r for r in outbox(store) if r.kind == "reminder"]
    assert (reminder.status, reminder.last_error) == (
        "withdrawn",
        "quiet hours last until its check-in",
    )


def test_a_receiver_that_fails_twice_then_recovers_gets_the_message_once(
    store: Store, smtp: SmtpServer
) -> None:
    receiver = HttpReceiver(fail_first=2).start()
    try:
        dirs = directories(smtp, clinic=[receiver.url])
        launch(store, dirs, plan(clinic_step()))
        engine.reconcile(store, code="BC-MSG-1", now=T0)
        assert send(store, dirs, T0) == {"retry": 1}
        assert send(store, dirs, T0 + S) == {"retry": 1}, "retried after the first backoff"
        assert send(store, dirs, T0 + 2 * S) == {}, "the backoff doubles"
        assert send(store, dirs, T0 + 3 * S) == {"sent": 1}
        assert send(store, dirs, T0 + 60 * S) == {}
        assert receiver.calls == 3 and len(receiver.received) == 1
        assert receiver.received[0]["title"].startswith("Направление BC-MSG-1")
        with store.session() as session:
            actions = session.scalars(
                select(AuditRow.action).where(AuditRow.actor == "outbox")
            ).all()
        assert actions == ["message-failed", "message-failed", "message-sent"]
    finally:
        receiver.stop()


def test_a_receiver_that_never_recovers_is_dead_and_the_supervisor_is_told(
    store: Store, smtp: SmtpServer
) -> None:
    receiver = HttpReceiver(fail_first=-1).start()
    try:
        dirs = directories(smtp, clinic=[receiver.url])
        launch(store, dirs, plan(clinic_step()))
        engine.reconcile(store, code="BC-MSG-1", now=T0)
        results = [send(store, dirs, T0 + k * 10 * S) for k in range(4)]
        assert results[:3] == [{"retry": 1}, {"retry": 1}, {"dead": 1}]
        assert results[3] == {"sent": 2}, "the supervisor and the case manager are told"
        assert receiver.calls == 3
        [dead] = [r for r in outbox(store) if r.kind == "referral"]
        assert dead.status == "dead" and dead.attempts == 3
        [mail] = smtp.to("boss@ngo.example")
        assert mail.subject == "Undelivered message BC-MSG-1"
        assert "referral" in mail.body and "partner:clinic" in mail.body
    finally:
        receiver.stop()


def test_a_recipient_with_several_channels_is_reached_if_any_works(
    store: Store, smtp: SmtpServer
) -> None:
    dead_end = HttpReceiver(fail_first=-1).start()
    try:
        dirs = directories(smtp, clinic=[dead_end.url, smtp.url("intake@clinic.example")])
        launch(store, dirs, plan(clinic_step()))
        engine.reconcile(store, code="BC-MSG-1", now=T0)
        assert send(store, dirs, T0) == {"sent": 1}
        [row] = outbox(store)
        assert row.status == "sent" and row.last_error == "channels failed: [0]"
    finally:
        dead_end.stop()


def test_no_message_of_a_whole_plan_carries_personal_data(store: Store, smtp: SmtpServer) -> None:
    dirs = directories(smtp)
    p = plan(
        clinic_step(
            consent=["medical"],
            due="1h",
            check_ins={"every": "10m", "remind": ["5m"], "grace": "2m"},
        ),
        {
            "id": "stay",
            "domain": "housing",
            "title": "Shelter",
            "partner": "shelter",
            "duration": "2h",
        },
        person=True,
    )
    launch(store, dirs, p, approval=True)
    recording.approve(store, dirs, code="BC-MSG-1", by="boss", now=T0)
    for minute in range(0, 200, 1):
        now = T0 + minute * M
        if minute == 3:
            recording.record_consent(
                store,
                dirs,
                code="BC-MSG-1",
                scopes=["medical"],
                status="given",
                by="cm",
                now=now,
                note="agreed; staying with her aunt in Pinsk",
            )
        if minute == 150:
            recording.withdraw_all(store, dirs, code="BC-MSG-1", by="cm", now=now)
        engine.reconcile(store, code="BC-MSG-1", now=now)
        send(store, dirs, now)
    kinds = {r.kind for r in outbox(store)}
    assert {
        "approval-request",
        "referral",
        "reminder",
        "consent-request",
        "check-in-missed",
        "missed-again",
        "missed-not-followed-up",
        "step-overdue",
        "step-cancelled",
        "plan-ended",
    } <= kinds
    assert len(smtp.received) >= 20
    text = "\n".join(f"{m.subject}\n{m.body}" for m in smtp.received)
    assert "BC-MSG-1" in text
    for value in (
        PERSON["name"],
        "Olesya",
        "Privatnaya",
        PERSON["contact"],
        "1962",
        "forced-marriage",
        "forced marriage",
        "Pinsk",  # a note's
    ):
        assert str(value) not in text


def test_a_cancelled_step_gets_its_cancellation_and_no_more_reminders(
    store: Store, smtp: SmtpServer
) -> None:
    dirs = directories(smtp, language="en")
    launch(store, dirs, plan(clinic_step(check_ins={"every": "1h", "remind": ["10m"]})))
    engine.reconcile(store, code="BC-MSG-1", now=T0)
    send(store, dirs, T0)
    recording.withdraw_all(store, dirs, code="BC-MSG-1", by="cm", now=T0 + M)
    send(store, dirs, T0 + 2 * M)
    send(store, dirs, T0 + 2 * 60 * M)
    assert [m.subject for m in smtp.to("intake@clinic.example")] == [
        "Referral BC-MSG-1: Medical check",
        "Cancelled BC-MSG-1: Medical check",
    ]
    assert [r.status for r in outbox(store) if r.kind == "reminder"] == ["withdrawn"]


def test_an_amended_schedule_replaces_the_unsent_reminders(store: Store, smtp: SmtpServer) -> None:
    dirs = directories(smtp, language="en")
    p = plan(clinic_step(check_ins={"every": "1h", "remind": ["10m"]}))
    launch(store, dirs, p)
    engine.reconcile(store, code="BC-MSG-1", now=T0)
    send(store, dirs, T0)
    amended = plan(clinic_step(check_ins={"every": "2h", "remind": ["10m"]}))
    plan_changes.amend(store, dirs, plan=amended, by="cm", now=T0 + M)
    engine.reconcile(store, code="BC-MSG-1", now=T0 + M)
    send(store, dirs, T0 + 2 * M)
    send(store, dirs, T0 + 60 * M)
    send(store, dirs, T0 + 120 * M)
    subjects = [m.subject for m in smtp.to("intake@clinic.example")]
    assert subjects == [
        "Referral BC-MSG-1: Medical check",
        "Changed BC-MSG-1: Medical check",
        "Reminder BC-MSG-1: Medical check on 2026-12-01 11:00 (Europe/Minsk)",
    ]


def test_a_partner_hears_only_about_its_own_steps(store: Store, smtp: SmtpServer) -> None:
    dirs = directories(smtp)
    launch(
        store,
        dirs,
        plan(
            clinic_step(),
            {"id": "stay", "domain": "housing", "title": "Shelter", "partner": "shelter"},
        ),
    )
    engine.reconcile(store, code="BC-MSG-1", now=T0)
    send(store, dirs, T0)
    assert [m.subject for m in smtp.to("desk@shelter.example")] == ["Накіраванне BC-MSG-1: Shelter"]
    assert "Medical" not in smtp.to("desk@shelter.example")[0].body


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_kind_renders_in_every_language(language: str) -> None:
    context = {
        k: "x"
        for k in (
            "case",
            "title",
            "domain",
            "starts",
            "ends",
            "schedule",
            "manager",
            "at",
            "number",
            "step",
            "partner",
            "streak",
            "scope",
            "state",
            "reason",
            "failed_kind",
            "failed_recipient",
            "attempts",
            "staff",  # a lockout's (notifications/context.staff_context)
            "until",
            "failures",
            "window_minutes",
            "lock_minutes",
            "case_url",  # a staff message's links (notifications/staff_links.py)
            "form_url",
            "link",
            "by",  # who sent a plan back
        )
    }
    for kind in (*NOTICE_KINDS, "message-dead", "test"):
        subject, body = render(kind, language, context)
        assert subject and body


def test_the_recording_fake_reports_failed_channels() -> None:
    fake = RecordingNotifier(failing={"json://down"})
    delivery = fake.send(["json://down", "json://up"], "s", "b")
    assert delivery.delivered and delivery.failed == (0,) and fake.sent == [("json://up", "s", "b")]


def test_partners_check_reports_which_channels_work(smtp: SmtpServer, tmp_path: Path) -> None:
    down = HttpReceiver(fail_first=-1).start()
    try:
        partners = {
            "partners": {
                "clinic": {
                    "name": "Clinic",
                    "kind": "healthcare",
                    "region": "Brest",
                    "language": "be",
                    "notify": [smtp.url("intake@clinic.example"), down.url],
                }
            }
        }
        file = tmp_path / "partners.yaml"
        file.write_text(yaml.safe_dump(partners))
        env = {
            "REHAB_HOME": str(tmp_path / "home"),
            "REHAB_PARTNERS_FILE": str(file),
            "PATH": "/usr/bin:/bin",
        }
        done = rehab(env, "partners", "check", "clinic")
        assert done.returncode == 1
        lines = done.stdout.splitlines()
        assert lines[0].split()[-1] == "ok" and lines[1].split()[3] == "FAILED:"
        assert "intake@clinic.example" not in done.stdout, "addresses are not printed"
        assert "1 of 2 channels failed" in done.stderr
        [mail] = smtp.to("intake@clinic.example")
        assert mail.subject == "rehab: праверачнае паведамленне"
    finally:
        down.stop()


def test_partners_check_says_in_one_line_why_a_channel_failed_and_never_its_secrets(
    tmp_path: Path,
) -> None:
    closed, erroring = free_port(), HttpReceiver(fail_first=-1).start()
    secrets = ("s3cretpw", "tok3nXYZ", "qsecret", "intake@clinic.example", "127.0.0.1", "hook")
    try:
        partners = {
            "partners": {
                "clinic": {
                    "name": "Clinic",
                    "kind": "healthcare",
                    "region": "Brest",
                    "language": "en",
                    "notify": [
                        f"json://user:s3cretpw@127.0.0.1:{closed}/hook/tok3nXYZ?x=qsecret",
                        f"mailto://user:s3cretpw@127.0.0.1:{closed}?to=intake@clinic.example"
                        "&from=rehab@ngo.example&mode=insecure",
                        erroring.url,
                    ],
                }
            }
        }
        file = tmp_path / "partners.yaml"
        file.write_text(yaml.safe_dump(partners))
        env = {
            "REHAB_HOME": str(tmp_path / "home"),
            "REHAB_PARTNERS_FILE": str(file),
            "PATH": "/usr/bin:/bin",
        }
        # A real process: what its logging would print on stderr is part of what it shows.
        done = rehab_process(env, "partners", "check")
        as_json = rehab(env, "partners", "check", "--json")
    finally:
        erroring.stop()
    lines = done.stdout.splitlines()
    assert done.returncode == 1 and len(lines) == 3, done.stdout + done.stderr
    assert "json         FAILED: " in lines[0] and "Connection refused" in lines[0]
    assert "mailto       FAILED: " in lines[1] and "Connection refused" in lines[1]
    assert "FAILED: " in lines[2] and "500" in lines[2], lines[2]
    reasons = [r["reason"] for r in json.loads(as_json.stdout)]
    assert all(reasons) and reasons == [line.split("FAILED: ")[1] for line in lines]
    everything = done.stdout + done.stderr + as_json.stdout + as_json.stderr
    assert not any(s in everything for s in secrets), everything
    store = open_store(
        f"sqlite:///{tmp_path / 'home' / 'cases.db'}", tmp_path / "home" / "secret.key"
    )
    try:
        with store.session() as session:
            rows = session.scalars(select(AuditRow).where(AuditRow.actor == "partners-check"))
            audited = json.dumps([r.detail for r in rows])
    finally:
        store.dispose()
    assert not any(s in audited for s in secrets) and "reason" not in audited


def test_apprise_tells_no_log_handler_what_it_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    url = f"json://user:s3cretpw@127.0.0.1:{free_port()}/hook/tok3nXYZ"
    delivery = AppriseNotifier().send([url], "subject", "body")
    assert delivery.failed == (0,) and "Connection refused" in (delivery.reason(0) or "")
    assert not [r for r in caplog.records if r.name.startswith("apprise")]
    assert "s3cretpw" not in caplog.text and "tok3nXYZ" not in caplog.text


@pytest.mark.parametrize(
    "url",
    [
        "tgram://123456:ABCdefTOKENxyz/987654",
        "mailto://user:pa%24%24word@smtp.example.org?to=intake@centre.example",
        "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ/#channel",
    ],
)
def test_a_failure_reason_keeps_none_of_its_urls_parts(url: str) -> None:
    said = (
        f"Failed to send to {url} via 123456:ABCdefTOKENxyz, smtp.example.org, pa$$word, "
        "T1JJ3T3L2, TIiajkdnlazkcOXrIdevi7FQ (s...w) [Errno 111] Connection refused"
    )
    cleaned = without_secrets(said, url)
    assert cleaned.endswith("[Errno 111] Connection refused")
    assert not any(part in cleaned for part in url_parts(url)), cleaned
    assert "s...w" not in cleaned
