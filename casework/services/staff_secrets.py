"""What the door's staff modules share: tokens kept only as their SHA-256, passwords only as
their argon2 hash, and a staff member's sessions ended at once."""

from __future__ import annotations

import functools
import hashlib
import secrets
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from casework.store.door_tables import StaffSessionRow

MIN_PASSWORD = 12  # NIST SP 800-63B: length over composition rules
MAX_PASSWORD = 256  # argon2 takes any length; a bound keeps a request from costing minutes
# argon2id with RFC 9106's low-memory parameters (argon2-cffi's defaults). The one seam for
# tests, which swap in a cheaper hasher as Django's tests do; verifying reads the parameters
# from each stored hash.
HASHER = PasswordHasher()


def hash_password(password: str) -> str:
    """What the store keeps of a password: its argon2 hash."""
    return HASHER.hash(password)


def password_matches(hashed: str, password: str) -> bool:
    """Whether `password` is the one `hashed` was made from (a broken hash matches nothing;
    past MAX_PASSWORD characters nothing is read, as nothing longer was ever set)."""
    try:
        return HASHER.verify(hashed, password[:MAX_PASSWORD])
    except (VerificationError, InvalidHashError):
        return False


def ready_for_sign_in() -> None:
    """Make the hash `spend_a_check` checks against now (the door calls this as it starts),
    so the first refused sign-in costs what every other one costs."""
    _dummy_hash(HASHER)


def spend_a_check(password: str) -> None:
    """Spend the time of a real check where there is no hash, so a refusal does not tell
    whether the staff member has a password. (The hash it checks against is made when the
    door starts, not at import: a `rehab` command never pays for it.)"""
    password_matches(_dummy_hash(HASHER), password)


@functools.cache
def _dummy_hash(hasher: PasswordHasher) -> str:
    return hasher.hash(secrets.token_urlsafe(16))


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
