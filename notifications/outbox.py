"""Sending the outbox: due messages, in the recipient's language and outside their quiet hours,
retried with backoff, dead after too many failures (and the supervisor told). Every send and
failure is in the audit log."""

from __future__ import annotations

import logging
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from casework.domain.access import supervisor_now
from casework.domain.notices import Notice, after_quiet_hours, gone, referral_gone
from casework.store.db import Store
from casework.store.repository import (
    audit,
    get_case_row,
    queue_notices,
    step_as_planned,
    to_domain,
)
from casework.store.tables import CaseRow, OutboxRow
from casework.store.withdrawal import mark_referral, referral_withdrawn, withdraw
from notifications.context import (
    Recipient,
    message_context,
    programme_zone,
    recipient,
    reminded_check_in,
    staff_context,
)
from notifications.notifier import Notifier
from notifications.render import render
from notifications.words import in_language
from plans.directories import Directories
from plans.model import DEFAULT_TIMEZONE

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
            select(OutboxRow)
            .where(OutboxRow.status.in_(("pending", "sending")), OutboxRow.next_attempt_at <= now)
            .order_by(OutboxRow.next_attempt_at)
            .limit(policy.batch)
            .with_for_update(skip_locked=True)
        ).all()
        for row in rows:
            row.status, row.next_attempt_at = "sending", now + policy.lease
        return [row.id for row in rows]


def send_due(
    store: Store, directories: Directories, notifier: Notifier, *, now: datetime, policy: Policy
) -> Counter[str]:
    """Send every message that is due; returns how many were sent, held, retried, dead."""

    def one(message_id: int) -> str:
        try:
            return _send_one(store, directories, notifier, message_id, now=now, policy=policy)
        except Exception as exc:  # one broken message must not stop the others
            log.warning("message %s could not be processed (%s)", message_id, type(exc).__name__)
            why = f"{type(exc).__name__} in the outbox"
            return _release(store, directories, message_id, now, policy=policy, why=why)

    claimed = _claim(store, now, policy)
    if policy.workers <= 1 or len(claimed) <= 1:
        return Counter(one(m) for m in claimed)
    # Delivery waits on the network (an SMTP handshake costs tens of ms): send in parallel.
    with ThreadPoolExecutor(max_workers=policy.workers, thread_name_prefix="send") as pool:
        return Counter(pool.map(one, claimed))


def _compose(
    session: Session, directories: Directories, row: OutboxRow, now: datetime
) -> tuple[str, Recipient | None, str, str]:
    """What to do with a claimed row: ("send", who, subject, body), or ("dead" | "withdrawn" |
    "held", ...) with the reason in place of the subject."""
    who = recipient(directories, row.recipient)
    if who is None:
        return "dead", None, "recipient no longer in the directories", ""
    if not row.case_code:  # about a staff member, not a case (a lockout)
        arrives = after_quiet_hours(now, who.quiet_hours, who.tz or programme_zone(directories))
        if arrives > now:
            row.next_attempt_at = arrives
            return "held", who, "", ""
        return "send", who, *render(row.kind, who.language, staff_context(directories, row, who))
    case_row = get_case_row(session, code=row.case_code)
    if row.kind == "case-quarantined":  # written from the row: its plan may be what is broken
        return _compose_quarantined(row, case_row, who, now)
    case = to_domain(case_row)
    why = (
        referral_gone(row.step_id, case)
        if row.kind == "referral"
        else gone(row.kind, row.step_id, row.occurrence, case)
    )
    if why is not None:
        return "withdrawn", who, why, ""
    step = step_as_planned(case_row, row.step_id) if row.step_id else None
    urgent = row.kind == "referral" and step is not None and step.urgent
    arrives = now if urgent else after_quiet_hours(now, who.quiet_hours, who.tz or case.plan.tz)
    check_in = reminded_check_in(case, row) if row.kind == "reminder" else None
    if arrives > now and check_in is not None and arrives >= check_in:
        return "withdrawn", who, "quiet hours last until its check-in", ""
    if arrives > now:
        row.next_attempt_at = arrives
        return "held", who, "", ""
    subject, body = render(
        row.kind, who.language, message_context(session, directories, row, case, who, step=step)
    )
    return "send", who, subject, body


def _compose_quarantined(
    row: OutboxRow, case_row: CaseRow, who: Recipient, now: datetime
) -> tuple[str, Recipient | None, str, str]:
    """The supervisor's notice that the engine set a case aside: code, reason, manager."""
    arrives = after_quiet_hours(now, who.quiet_hours, who.tz or ZoneInfo(DEFAULT_TIMEZONE))
    if arrives > now:
        row.next_attempt_at = arrives
        return "held", who, "", ""
    context = {
        "case": case_row.code,
        "reason": case_row.quarantine_reason or "lifted since",
        "manager": case_row.manager,
    }
    subject, body = render(row.kind, who.language, in_language(context, who.language))
    return "send", who, subject, body


def _send_one(
    store: Store,
    directories: Directories,
    notifier: Notifier,
    message_id: int,
    *,
    now: datetime,
    policy: Policy,
) -> str:
    with store.session() as session:
        row = session.get_one(OutboxRow, message_id)
        try:
            verdict, who, subject, body = _compose(session, directories, row, now)
        except Exception as exc:  # a message that cannot be written is a failed attempt
            log.warning("message %s could not be written (%s)", message_id, type(exc).__name__)
            return _failed(
                store,
                session,
                row,
                now,
                policy=policy,
                why=f"could not be written ({type(exc).__name__})",
                directories=directories,
            )
        if verdict == "dead":
            return _dead(store, session, row, now, why=subject, directories=directories)
        if verdict == "withdrawn":
            return _withdrawn(store, session, row, now, subject)
        if verdict == "held":
            row.status = "pending"
            return "held"
    assert who is not None
    delivery = notifier.send(who.urls, subject, body)  # outside any transaction: it is slow
    with store.session() as session:
        row = session.get_one(OutboxRow, message_id)
        if delivery.delivered:
            row.attempts += 1
            row.status, row.sent_at = "sent", now
            if row.kind == "referral" and row.step_id:
                mark_referral(session, code=row.case_code, step_id=row.step_id, state="sent")
            row.last_error = (
                f"channels failed: {list(delivery.failed)}" if delivery.failed else None
            )
            _record(
                store,
                session,
                row,
                "message-sent",
                now=now,
                detail={
                    "key": row.key,
                    "attempt": row.attempts,
                    "ok": list(delivery.ok),
                    "failed": list(delivery.failed),
                },
            )
            return "sent"
        return _failed(
            store,
            session,
            row,
            now,
            policy=policy,
            why=f"channels failed: {list(delivery.failed)}" if delivery.failed else "no channel",
            directories=directories,
        )


def _record(
    store: Store,
    session: Session,
    row: OutboxRow,
    action: str,
    *,
    now: datetime,
    detail: dict[str, Any],
) -> None:
    """The outbox's audit row about one message (its key names it; never its text)."""
    audit(
        session,
        sealer=store.sealer,
        case_code=row.case_code or None,
        actor="outbox",
        action=action,
        now=now,
        detail=detail,
    )


def _failed(
    store: Store,
    session: Session,
    row: OutboxRow,
    now: datetime,
    *,
    policy: Policy,
    why: str,
    directories: Directories,
) -> str:
    """One more failed attempt: tried again after the backoff, or dead after the last."""
    row.attempts += 1
    row.last_error = why
    if row.attempts >= policy.max_attempts:
        return _dead(store, session, row, now, why=why, directories=directories)
    row.status, row.next_attempt_at = "pending", now + policy.backoff(row.attempts)
    _record(
        store,
        session,
        row,
        "message-failed",
        now=now,
        detail={"key": row.key, "attempt": row.attempts, "why": why},
    )
    return "retry"


def _release(
    store: Store,
    directories: Directories,
    message_id: int,
    now: datetime,
    *,
    policy: Policy,
    why: str,
) -> str:
    """After an error outside any attempt's own handling: count it, so that no message stays
    claimed; if even that fails, the claim's lease lets the next pass take it again."""
    try:
        with store.session() as session:
            row = session.get_one(OutboxRow, message_id)
            if row.status != "sending":
                return "error"
            return _failed(
                store, session, row, now, policy=policy, why=why, directories=directories
            )
    except Exception as exc:
        log.warning(
            "message %s stays claimed until its lease ends (%s)", message_id, type(exc).__name__
        )
        return "error"


def _withdrawn(store: Store, session: Session, row: OutboxRow, now: datetime, why: str) -> str:
    """Not sent, because what it was about has gone; a referral's step is marked so, and its
    manager is told when the step ran its time (`withdrawal.referral_withdrawn`)."""
    withdraw(row, why)
    _record(store, session, row, "message-withdrawn", now=now, detail={"key": row.key, "why": why})
    if row.kind == "referral" and row.step_id:
        mark_referral(session, code=row.case_code, step_id=row.step_id, state="withdrawn")
        queue_notices(session, now=now, notices=referral_withdrawn(session, row, now))
    return "withdrawn"


def _dead(
    store: Store,
    session: Session,
    row: OutboxRow,
    now: datetime,
    *,
    why: str,
    directories: Directories,
) -> str:
    row.status, row.last_error = "dead", why
    if row.kind == "referral" and row.step_id:
        mark_referral(session, code=row.case_code, step_id=row.step_id, state="dead")
    _record(store, session, row, "message-dead", now=now, detail={"key": row.key, "why": why})
    # Never a loop of notices about notices; a staff message's loss is in the audit log.
    if row.kind != "message-dead" and row.case_code:
        case = session.scalars(select(CaseRow).where(CaseRow.code == row.case_code)).one()
        boss = supervisor_now(directories, case.supervisor)
        queue_notices(
            session,
            now=now,
            notices=[
                Notice(
                    "message-dead", f"staff:{staff}", row.case_code, now, row.step_id, str(row.id)
                )
                for staff in dict.fromkeys(s for s in (boss, case.manager) if s)
            ],
        )
    return "dead"
