"""Lockout of a staff id after repeated refused proofs of identity (security.md rules 1-2):
five refused within 15 minutes lock the id for 15 minutes everywhere a proof is checked (the
forms' codes now, the door's sign-in next), counted in the case store across processes and
cases. A lock is audited once (`staff-locked`) and told once to her supervisor (for a case
manager, the directory's default supervisor) and every director: staff ids only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from casework.domain.notices import Notice
from casework.store.audit_rows import audit
from casework.store.db import Store
from casework.store.door_tables import StaffFailureRow, StaffLockoutRow
from casework.store.outbox_rows import queue_notices
from plans.directories import Directories

FAILURES_TO_LOCK = 5
WINDOW = timedelta(minutes=15)  # failures this recent count towards a lock
LOCK_FOR = timedelta(minutes=15)

Proof = Literal["code", "sign-in"]


@dataclass(frozen=True)
class Lock:
    """A staff id locked from `since` until `until`."""

    staff: str
    since: datetime
    until: datetime


def locked_until(store: Store, *, staff: str, now: datetime) -> datetime | None:
    """When the lock on `staff` ends, if she is locked at `now`; else None."""
    with store.session() as session:
        row = session.get(StaffLockoutRow, staff)
        return _until(row, now)


def _until(row: StaffLockoutRow | None, now: datetime) -> datetime | None:
    if row is None or row.locked_at is None or row.locked_until is None:
        return None
    return row.locked_until if row.locked_at <= now < row.locked_until else None


def _take(session: Session, staff: str) -> StaffLockoutRow:
    """Her lockout row, locked until this transaction ends: her failures are counted one
    transaction at a time, whichever process records them."""
    if session.get_bind().dialect.name == "sqlite":
        # A write takes SQLite's one write lock now (a SELECT would not): no other writer
        # counts her failures between our count and our lock.
        session.execute(
            update(StaffLockoutRow)
            .where(StaffLockoutRow.staff_id == staff)
            .values(locks=StaffLockoutRow.locks)
        )
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(
        insert(StaffLockoutRow).values(staff_id=staff, locks=0).on_conflict_do_nothing()
    )
    return session.scalars(
        select(StaffLockoutRow).where(StaffLockoutRow.staff_id == staff).with_for_update()
    ).one()


def record_failure(
    store: Store, directories: Directories, *, staff: str, now: datetime, proof: Proof
) -> Lock | None:
    """Count one refused proof of `staff` at `now`; the one that makes five within the window
    locks her (audited, her supervisor and the directors told, in this same transaction).
    Returns the lock it started, if it started one."""
    with store.session() as session:
        row = _take(session, staff)
        if _until(row, now) is not None:
            return None  # already locked: refused as locked, and the lock is not extended
        session.add(StaffFailureRow(staff_id=staff, at=now, kind=proof))
        session.execute(
            delete(StaffFailureRow).where(
                StaffFailureRow.staff_id == staff, StaffFailureRow.at <= now - WINDOW
            )
        )
        since = now - WINDOW
        if row.locked_until is not None and row.locked_until > since:
            since = row.locked_until  # failures before a lock ended counted towards it
        session.flush()
        recent = session.scalar(
            select(func.count())
            .select_from(StaffFailureRow)
            .where(StaffFailureRow.staff_id == staff, StaffFailureRow.at > since)
        )
        if (recent or 0) < FAILURES_TO_LOCK:
            return None
        lock = Lock(staff, now, now + LOCK_FOR)
        row.locked_at, row.locked_until, row.locks = lock.since, lock.until, row.locks + 1
        told = told_of_lock(directories, staff)
        audit(
            session,
            sealer=store.sealer,
            case_code=None,
            actor=staff,
            action="staff-locked",
            now=now,
            detail={
                "staff": staff,
                "until": lock.until.isoformat(),
                "failures": FAILURES_TO_LOCK,
                "proof": proof,
                "told": told,
            },
        )
        queue_notices(session, notices=lock_notices(lock, told), now=now)
        return lock


def told_of_lock(directories: Directories, staff: str) -> list[str]:
    """Who is told that `staff` is locked: her supervisor (a case manager's, or an unknown
    id's, is the directory's default supervisor; a supervisor's are the directors) and every
    director; never herself, whose channel may be what is under attack."""
    member = directories.staff.staff.get(staff)
    default = directories.staff.default_supervisor
    told = [default] if default and (member is None or member.role == "case-manager") else []
    told += directories.staff.with_role("director")
    return [sid for sid in dict.fromkeys(told) if sid != staff]


def lock_notices(lock: Lock, told: list[str]) -> list[Notice]:
    """One message per person told, keyed by the lock, so each is queued once per lock. A
    lockout is about no case: the message names the staff id (as its `step`) and when the lock
    ends (its occurrence)."""
    return [
        Notice("staff-locked", f"staff:{sid}", "", lock.since, lock.staff, lock.until.isoformat())
        for sid in told
    ]
