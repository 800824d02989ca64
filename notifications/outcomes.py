"""What becomes of a claimed message, in the case store and the audit log: sent (written in
groups, notifications/marking.py), failed (tried again after a backoff), dead (the supervisor
told), withdrawn."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from casework.domain.access import supervisor_now
from casework.domain.notices import Notice
from casework.store.audit_rows import audit
from casework.store.db import Store
from casework.store.outbox_rows import queue_notices
from casework.store.tables import CaseRow, OutboxRow
from casework.store.withdrawal import mark_referral, referral_withdrawn, withdraw
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


def record(
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
        detail={"key": row.key, **detail},
    )


def failed(
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
        return dead(store, session, row, now, why=why, directories=directories)
    row.status, row.next_attempt_at = "pending", now + policy.backoff(row.attempts)
    record(
        store, session, row, "message-failed", now=now, detail={"attempt": row.attempts, "why": why}
    )
    return "retry"


def release(
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
            return failed(store, session, row, now, policy=policy, why=why, directories=directories)
    except Exception as exc:
        log.warning(
            "message %s stays claimed until its lease ends (%s)", message_id, type(exc).__name__
        )
        return "error"


def withdrawn(store: Store, session: Session, row: OutboxRow, now: datetime, why: str) -> str:
    """Not sent, because what it was about has gone; a referral's step is marked so, and its
    manager is told when the step ran its time (`withdrawal.referral_withdrawn`)."""
    withdraw(row, why)
    record(store, session, row, "message-withdrawn", now=now, detail={"why": why})
    if row.kind == "referral" and row.step_id:
        mark_referral(session, code=row.case_code, step_id=row.step_id, state="withdrawn")
        queue_notices(session, now=now, notices=referral_withdrawn(session, row, now))
    return "withdrawn"


def dead(
    store: Store,
    session: Session,
    row: OutboxRow,
    now: datetime,
    *,
    why: str,
    directories: Directories,
) -> str:
    """Never to be sent: audited, and the case's supervisor and manager told."""
    row.status, row.last_error = "dead", why
    if row.kind == "referral" and row.step_id:
        mark_referral(session, code=row.case_code, step_id=row.step_id, state="dead")
    record(store, session, row, "message-dead", now=now, detail={"why": why})
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
