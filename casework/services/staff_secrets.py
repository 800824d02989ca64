"""What the door's staff modules share: tokens kept only as their SHA-256, passwords only as
their argon2 hash, and a staff member's sessions ended at once."""

from __future__ import annotations

import hashlib
from datetime import datetime

from argon2 import PasswordHasher
from sqlalchemy import select
from sqlalchemy.orm import Session

from casework.store.door_tables import StaffSessionRow

MIN_PASSWORD = 12  # NIST SP 800-63B: length over composition rules
MAX_PASSWORD = 256  # argon2 takes any length; a bound keeps a request from costing minutes
HASHER = PasswordHasher()


def digest(token: str) -> str:
    """What the store keeps of a token: its SHA-256."""
    return hashlib.sha256(token.encode()).hexdigest()


def end_sessions(session: Session, *, staff: str, now: datetime, why: str) -> int:
    """End every open session of `staff` (`why` kept on each); how many ended."""
    rows = session.scalars(
        select(StaffSessionRow).where(
            StaffSessionRow.staff_id == staff, StaffSessionRow.ended_at.is_(None)
        )
    ).all()
    for row in rows:
        row.ended_at, row.ended_why = now, why
    return len(rows)
