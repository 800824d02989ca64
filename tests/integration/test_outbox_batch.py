"""The outbox's pass over many messages at once: deliveries are marked in groups while the next
messages go out, and still each message is delivered once, marked only after its delivery,
audited in a row of its own, and a failure in a group touches no other message. Real SMTP on
127.0.0.1, the SMTP connections kept open through the pass."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import func, select

from casework.services import engine
from casework.store import audit_log
from casework.store.db import Store
from casework.store.tables import AuditRow, OutboxRow
from notifications import marking, smtp_pool
from notifications.marking import Marker
from notifications.notifier import AppriseNotifier, Delivery
from notifications.outbox import send_due
from plans.directories import Directories
from tests.conftest import T0
from tests.e2e.harness import free_port
from tests.endpoints import SmtpServer
from tests.integration.test_outbox import FAST, S, clinic_step, directories, launch, plan, smtp

__all__ = ["smtp"]  # the fixture, shared with test_outbox

CASES = 24


def referrals(store: Store, dirs: Directories) -> list[str]:
    """`CASES` plans, each referring to the clinic (even) or the shelter (odd); all due at T0."""
    codes = [f"BC-BAT-{i:02d}" for i in range(CASES)]
    for i, code in enumerate(codes):
        step = clinic_step(partner="clinic" if i % 2 == 0 else "shelter")
        launch(store, dirs, plan(step).model_copy(update={"case": code}))
        engine.reconcile(store, code=code, now=T0)
    return codes


def outbox_by_case(store: Store) -> dict[str, OutboxRow]:
    with store.session() as session:
        return {r.case_code: r for r in session.scalars(select(OutboxRow))}


def audited(store: Store) -> Counter[tuple[str, str]]:
    """(action, message key) of every outbox audit row, counted."""
    with store.session() as session:
        rows = session.scalars(select(AuditRow).where(AuditRow.actor == "outbox")).all()
    return Counter((r.action, r.detail["key"]) for r in rows)


def test_a_pass_over_many_messages_sends_each_once_and_retries_only_the_failed(
    store: Store, smtp: SmtpServer
) -> None:
    dirs = directories(smtp)
    shelter = dirs.partners.partners["shelter"]
    closed = f"mailto://127.0.0.1:{free_port()}?to=desk@shelter.example&mode=insecure"
    down = {**dirs.partners.partners, "shelter": shelter.model_copy(update={"notify": [closed]})}
    broken = replace(dirs, partners=dirs.partners.model_copy(update={"partners": down}))
    codes = referrals(store, broken)

    notifier = AppriseNotifier(throttle=0)
    assert send_due(store, broken, notifier, now=T0, policy=FAST) == {"sent": 12, "retry": 12}
    assert sorted(m.to[0] for m in smtp.received) == ["intake@clinic.example"] * 12
    rows = outbox_by_case(store)
    for i, code in enumerate(codes):
        row = rows[code]
        if i % 2 == 0:
            assert (row.status, row.attempts, row.last_error) == ("sent", 1, None)
        else:
            assert (row.status, row.attempts) == ("pending", 1), "tried again after a backoff"
            assert row.next_attempt_at > T0
    actions = audited(store)
    assert set(actions.values()) == {1}, "one audit row per message and outcome"
    assert sum(1 for action, _ in actions if action == "message-sent") == 12
    assert sum(1 for action, _ in actions if action == "message-failed") == 12

    # The shelter's server is back: only its twelve go, the clinic hears nothing twice.
    assert send_due(store, dirs, notifier, now=T0 + S, policy=FAST) == {"sent": 12}
    assert Counter(m.to[0] for m in smtp.received) == {
        "intake@clinic.example": 12,
        "desk@shelter.example": 12,
    }
    assert all(r.status == "sent" for r in outbox_by_case(store).values())
    assert audit_log.verify(store).ok, "the audit chain holds across the groups"


class Watching:
    """Apprise, checking at each delivery that no more messages are marked sent in the store
    than were delivered before it."""

    def __init__(self, store: Store) -> None:
        self.store, self.inner = store, AppriseNotifier(throttle=0)
        self.delivered = 0
        self.ahead: list[tuple[int, int]] = []

    def batch(self) -> Any:
        return self.inner.batch()

    def send(self, urls: list[str], subject: str, body: str) -> Delivery:
        with self.store.session() as session:
            marked = session.scalar(
                select(func.count()).select_from(OutboxRow).where(OutboxRow.status == "sent")
            )
        before = self.delivered
        if marked is not None and marked > before:
            self.ahead.append((marked, before))
        delivery = self.inner.send(urls, subject, body)
        self.delivered += 1  # a count, not exact under threads: it only ever runs ahead
        return delivery


def test_a_message_is_marked_sent_only_after_its_delivery(store: Store, smtp: SmtpServer) -> None:
    dirs = directories(smtp)
    referrals(store, dirs)
    watching = Watching(store)
    assert send_due(store, dirs, watching, now=T0, policy=FAST) == {"sent": CASES}
    assert watching.ahead == []
    assert len(smtp.received) == CASES


def test_a_mark_that_cannot_be_written_undoes_none_of_the_others(
    store: Store, smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    dirs = directories(smtp)
    codes = referrals(store, dirs)
    unlucky = codes[5]
    original = marking.mark_referral

    def mark_referral(session: Any, *, code: str, step_id: str, state: str) -> None:
        if code == unlucky:
            raise RuntimeError("the store refused this one")
        original(session, code=code, step_id=step_id, state=state)

    monkeypatch.setattr(marking, "mark_referral", mark_referral)
    notifier = AppriseNotifier(throttle=0)
    assert send_due(store, dirs, notifier, now=T0, policy=FAST) == {"sent": CASES - 1, "retry": 1}
    rows = outbox_by_case(store)
    assert rows[unlucky].status == "pending" and rows[unlucky].attempts == 1
    assert "RuntimeError" in (rows[unlucky].last_error or "")
    assert all(r.status == "sent" for c, r in rows.items() if c != unlucky)
    assert audit_log.verify(store).ok

    # Its mark failed after its delivery: it goes once more (the one duplicate a lost mark
    # costs), then is marked; nothing else goes again.
    monkeypatch.setattr(marking, "mark_referral", original)
    assert send_due(store, dirs, notifier, now=T0 + S, policy=FAST) == {"sent": 1}
    assert len(smtp.received) == CASES + 1
    assert all(r.status == "sent" for r in outbox_by_case(store).values())
    assert audit_log.verify(store).ok


def test_marks_are_written_in_groups_no_larger_than_asked(store: Store, smtp: SmtpServer) -> None:
    dirs = directories(smtp)
    referrals(store, dirs)
    with store.session() as session:
        ids = session.scalars(select(OutboxRow.id).order_by(OutboxRow.id)).all()
    with Marker(store, dirs, now=T0, policy=FAST, group=5, linger=10.0) as marker:
        futures = [marker.hand(i, Delivery((0,), ())) for i in ids]
    assert [f.result() for f in futures] == ["sent"] * CASES
    assert sum(marker.groups) == CASES
    assert max(marker.groups) <= 5 and len(marker.groups) <= -(-CASES // 5) + 1
    assert set(audited(store).values()) == {1}
    assert audit_log.verify(store).ok


def test_a_pass_sends_over_a_few_open_connections_not_one_per_message(
    store: Store, smtp: SmtpServer
) -> None:
    assert smtp_pool.install(), "this apprise still sends the way smtp_pool.py expects"
    dirs = directories(smtp)
    referrals(store, dirs)
    notifier = AppriseNotifier(throttle=0)
    with notifier.batch():  # the pass's own batch joins this one, so its pool can be read
        assert send_due(store, dirs, notifier, now=T0, policy=FAST) == {"sent": CASES}
        assert notifier.pool is not None
        assert 1 <= notifier.pool.opened <= FAST.workers
    assert len(smtp.received) == CASES
