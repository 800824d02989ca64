"""Staff at the door (security.md rules 1-2): sign-in takes her password (set through her
invite: casework/services/invites.py) and her authenticator's code, and a session lasts while
she is active, in the role she had, for at most a working day.

Tokens (invites, sessions) are random 256-bit strings handed to her once; the store keeps only
their SHA-256, and a password only as its argon2 hash.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update

from casework.services import lockout, staff_codes
from casework.services.errors import SignInRefused
from casework.services.staff_secrets import (
    digest,
    end_sessions,
    password_matches,
    spend_a_check,
)
from casework.store.audit_rows import audit
from casework.store.db import Store
from casework.store.door_tables import StaffInviteRow, StaffPasswordRow, StaffSessionRow
from plans.directories import Directories
from plans.errors import RehabError

IDLE_LIMIT = timedelta(minutes=30)
SESSION_LIMIT = timedelta(hours=12)


@dataclass(frozen=True)
class StaffSession:
    """Who is signed in, with which role, and the hash that names the session in audit rows."""

    staff: str
    role: str
    session: str  # the first 12 hex digits of the token's hash: enough to tell sessions apart


def sign_in(
    store: Store, directories: Directories, *, staff: str, password: str, code: str, now: datetime
) -> tuple[str, StaffSession]:
    """Check her password and code; returns the session token (for her cookie) and the
    session. Any wrong part is SignInRefused, the same for all, and an audit row naming the
    part (for the operator's eyes, never the values); each counts towards her lockout (five
    within 15 minutes lock the id for 15 minutes, casework/services/lockout.py), and while
    locked even a right password and code are refused."""
    member = directories.staff.staff.get(staff)
    why = _wrong_part(store, directories, staff=staff, password=password, code=code, now=now)
    if why is not None:
        with store.session() as session:
            audit(
                session,
                sealer=store.sealer,
                case_code=None,
                actor=staff if member is not None else "unknown",
                action="sign-in-refused",
                now=now,
                detail={"why": why} if member is not None else {"why": "unknown staff id"},
            )
        raise SignInRefused()
    assert member is not None
    token = secrets.token_urlsafe(32)
    hashed = digest(token)
    with store.session() as session:
        session.add(
            StaffSessionRow(
                token_hash=hashed,
                staff_id=staff,
                role=member.role,
                created_at=now,
                last_seen=now,
            )
        )
        audit(
            session,
            sealer=store.sealer,
            case_code=None,
            actor=staff,
            action="signed-in",
            now=now,
            detail={"session": hashed[:12], "role": member.role},
        )
    return token, StaffSession(staff=staff, role=member.role, session=hashed[:12])


def _wrong_part(
    store: Store, directories: Directories, *, staff: str, password: str, code: str, now: datetime
) -> str | None:
    """Why this sign-in is refused, or None; a refusal of a known id counts towards her
    lockout (a code's refusal is counted by the code check itself)."""
    known = staff in directories.staff.staff
    with store.session() as session:
        row = session.get(StaffPasswordRow, staff) if known else None
        stored = row.password_hash if row is not None else None
    if stored is None:
        spend_a_check(password)  # a refusal does not tell who exists
        return "unknown staff id" if not known else "no password set"
    # Checked before the lock is looked at: a locked id's refusal costs what any other costs,
    # so its speed does not tell that the id exists and is locked.
    matches = password_matches(stored, password)
    if lockout.locked_until(store, staff=staff, now=now) is not None:
        return "locked"
    if not matches:
        lockout.record_failure(store, directories, staff=staff, now=now, proof="sign-in")
        return "wrong password"
    try:
        staff_codes.check_code(store, directories, staff=staff, code=code, now=now, case=None)
    except RehabError as exc:
        return f"code refused ({getattr(exc, 'why', 'refused')})"
    return None


def current(
    store: Store, directories: Directories, *, token: str, now: datetime
) -> StaffSession | None:
    """The session this token opens now, touched; None if there is none, or it ended: idle
    too long, open too long, her role changed, or she left the directory (each ending audited
    once)."""
    hashed = digest(token)
    with store.session() as session:
        row = session.get(StaffSessionRow, hashed)
        if row is None or row.ended_at is not None:
            return None
        member = directories.staff.staff.get(row.staff_id)
        why = (
            "left-directory"
            if member is None
            else "role-changed"
            if member.role != row.role
            else "idle"
            if now - row.last_seen > IDLE_LIMIT
            else "expired"
            if now - row.created_at > SESSION_LIMIT
            else None
        )
        if why is not None:
            row.ended_at, row.ended_why = now, why
            audit(
                session,
                sealer=store.sealer,
                case_code=None,
                actor=row.staff_id,
                action="session-ended",
                now=now,
                detail={"session": hashed[:12], "why": why},
            )
            return None
        row.last_seen = now
        return StaffSession(staff=row.staff_id, role=row.role, session=hashed[:12])


def sign_out(store: Store, *, token: str, now: datetime) -> None:
    """End this session (audited); a token that opens none changes nothing."""
    hashed = digest(token)
    with store.session() as session:
        row = session.get(StaffSessionRow, hashed)
        if row is None or row.ended_at is not None:
            return
        row.ended_at, row.ended_why = now, "signed-out"
        audit(
            session,
            sealer=store.sealer,
            case_code=None,
            actor=row.staff_id,
            action="signed-out",
            now=now,
            detail={"session": hashed[:12]},
        )


def revoke(store: Store, *, staff: str, now: datetime) -> int:
    """End every session of `staff` and forget her password and authenticator secret, so she
    cannot sign in until enrolled again; returns how many sessions ended. Audited."""
    with store.session() as session:
        ended = end_sessions(session, staff=staff, now=now, why="revoked")
        password = session.get(StaffPasswordRow, staff)
        if password is not None:
            session.delete(password)
        staff_codes.forget(session, staff=staff)
        session.execute(
            update(StaffInviteRow)
            .where(StaffInviteRow.staff_id == staff, StaffInviteRow.used_at.is_(None))
            .values(used_at=now)
        )
        audit(
            session,
            sealer=store.sealer,
            case_code=None,
            actor="operator",
            action="staff-revoked",
            now=now,
            detail={"staff": staff, "sessions": ended},
        )
    return ended
