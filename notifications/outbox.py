"""Sending the outbox: due messages, in the recipient's language and outside their quiet hours,
retried with backoff, dead after too many failures (and the supervisor told). Every send and
failure is in the audit log."""

from __future__ import annotations

import logging
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from casework.messages import Notice, after_quiet_hours
from casework.store.db import Store
from casework.store.repository import audit, get_case_row, queue_notices, to_domain
from casework.store.tables import CaseRow, OutboxRow
from notifications.context import message_context, recipient, reminder_is_late
from notifications.notifier import Notifier
from notifications.render import render
from plans.directories import Directories

log = logging.getLogger("rehab.outbox")


@dataclass(frozen=True)
class Policy:
    """How hard to try: attempts before a message is dead, backoff, the claim's lease."""

    max_attempts: int = 5
    retry_base: timedelta = timedelta(seconds=30)
    retry_cap: timedelta = timedelta(hours=1)
    lease: timedelta = timedelta(minutes=5)
    batch: int = 200
    workers: int = 8

    def backoff(self, attempts: int) -> timedelta:
        """Delay before attempt `attempts + 1`: doubling from retry_base, capped."""
        delay: timedelta = self.retry_base * (2 ** max(attempts - 1, 0))
        return min(delay, self.retry_cap)


def _claim(store: Store, now: datetime, policy: Policy) -> list[int]:
    """Take due messages for this sender; a crashed sender's claims expire after the lease."""
    with store.session() as session:
        rows = session.scalars(
            select(OutboxRow).where(OutboxRow.status.in_(("pending", "sending")),
                                    OutboxRow.next_attempt_at <= now)
            .order_by(OutboxRow.next_attempt_at).limit(policy.batch)
            .with_for_update(skip_locked=True)).all()
        for row in rows:
            row.status, row.next_attempt_at = "sending", now + policy.lease
        return [row.id for row in rows]


def send_due(store: Store, directories: Directories, notifier: Notifier, *, now: datetime,
             policy: Policy) -> Counter[str]:
    """Send every message that is due; returns how many were sent, held, retried, dead."""
    def one(message_id: int) -> str:
        try:
            return _send_one(store, directories, notifier, message_id, now=now, policy=policy)
        except Exception:  # one broken message must not stop the others
            log.exception("message %s could not be processed", message_id)
            return "error"

    claimed = _claim(store, now, policy)
    if policy.workers <= 1 or len(claimed) <= 1:
        return Counter(one(m) for m in claimed)
    # Delivery waits on the network (an SMTP handshake costs tens of ms): send in parallel.
    with ThreadPoolExecutor(max_workers=policy.workers, thread_name_prefix="send") as pool:
        return Counter(pool.map(one, claimed))


def _send_one(store: Store, directories: Directories, notifier: Notifier, message_id: int, *,
              now: datetime, policy: Policy) -> str:
    with store.session() as session:
        row = session.get_one(OutboxRow, message_id)
        who = recipient(directories, row.recipient)
        if who is None:
            return _dead(store, session, row, now, "recipient no longer in the directories")
        case = to_domain(get_case_row(session, code=row.case_code))
        if row.kind == "reminder" and reminder_is_late(case, row):
            row.status, row.last_error = "cancelled", "its check-in has already come"
            return "late"
        arrives = after_quiet_hours(now, who.quiet_hours, who.tz or case.plan.tz)
        if arrives > now:
            row.status, row.next_attempt_at = "pending", arrives
            return "held"
        subject, body = render(row.kind, who.language,
                               message_context(session, directories, row, case, who))
    delivery = notifier.send(who.urls, subject, body)  # outside any transaction: it is slow
    with store.session() as session:
        row = session.get_one(OutboxRow, message_id)
        row.attempts += 1
        failed = f"channels failed: {list(delivery.failed)}" if delivery.failed else None
        detail = {"key": row.key, "attempt": row.attempts, "ok": list(delivery.ok),
                  "failed": list(delivery.failed)}
        if delivery.delivered:
            row.status, row.sent_at, row.last_error = "sent", now, failed
            audit(session, sealer=store.sealer, case_code=row.case_code, actor="outbox",
                  action="message-sent", now=now, detail=detail)
            return "sent"
        row.last_error = failed or "no channel"
        if row.attempts >= policy.max_attempts:
            return _dead(store, session, row, now, row.last_error)
        row.status, row.next_attempt_at = "pending", now + policy.backoff(row.attempts)
        audit(session, sealer=store.sealer, case_code=row.case_code, actor="outbox",
              action="message-failed", now=now, detail=detail)
        return "retry"


def _dead(store: Store, session: Session, row: OutboxRow, now: datetime, why: str) -> str:
    row.status, row.last_error = "dead", why
    audit(session, sealer=store.sealer, case_code=row.case_code, actor="outbox",
          action="message-dead", now=now, detail={"key": row.key, "why": why})
    if row.kind != "message-dead":  # never a loop of notices about notices
        case = session.scalars(select(CaseRow).where(CaseRow.code == row.case_code)).one()
        queue_notices(session, now=now, notices=[
            Notice("message-dead", f"staff:{staff}", row.case_code, now, row.step_id,
                   str(row.id)) for staff in dict.fromkeys((case.supervisor, case.manager))])
    return "dead"
