"""Staff at the door (security.md rules 1-2): a one-time invite sets her password, sign-in
takes her password and her authenticator's code, and a session lasts while she is active, in
the role she had, for at most a working day.

Tokens (invites, sessions) are random 256-bit strings handed to her once; the store keeps only
their SHA-256, and a password only as its argon2 hash.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from casework.domain.errors import UnknownStaff
from casework.services import lockout, staff_codes
from casework.services.errors import InviteRefused, PasswordRefused, SignInRefused
from casework.store.audit_rows import audit
from casework.store.db import Store
from casework.store.door_tables import StaffInviteRow, StaffPasswordRow, StaffSessionRow
from plans.directories import Directories
from plans.errors import RehabError

INVITE_LIFETIME = timedelta(hours=72)
IDLE_LIMIT = timedelta(minutes=30)
SESSION_LIMIT = timedelta(hours=12)
MIN_PASSWORD = 12  # NIST SP 800-63B: length over composition rules
MAX_PASSWORD = 256  # argon2 takes any length; a bound keeps a request from costing minutes

_hasher = PasswordHasher()


@dataclass(frozen=True)
class StaffSession:
    """Who is signed in, with which role, and the hash that names the session in audit rows."""

    staff: str
    role: str
    session: str  # the first 12 hex digits of the token's hash: enough to tell sessions apart


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invite(store: Store, directories: Directories, *, staff: str, now: datetime) -> str:
    """A one-time token with which `staff` sets her password; earlier unused invites of hers
    stop working. Audited as the operator's act."""
    if staff not in directories.staff.staff:
        raise UnknownStaff(staff, directories.staff_file, list(directories.staff.staff))
    token = secrets.token_urlsafe(32)
    with store.session() as session:
        session.execute(
            update(StaffInviteRow)
            .where(StaffInviteRow.staff_id == staff, StaffInviteRow.used_at.is_(None))
            .values(used_at=now)
        )
        session.add(
            StaffInviteRow(
                token_hash=_digest(token),
                staff_id=staff,
                created_at=now,
                expires_at=now + INVITE_LIFETIME,
            )
        )
        audit(
            session,
            sealer=store.sealer,
            case_code=None,
            actor="operator",
            action="staff-invited",
            now=now,
            detail={"staff": staff, "expires": (now + INVITE_LIFETIME).isoformat()},
        )
    return token


def invited_staff(store: Store, *, token: str, now: datetime) -> str:
    """Whose invite this is, if it still works (else InviteRefused); changes nothing."""
    with store.session() as session:
        row = session.get(StaffInviteRow, _digest(token))
        _check_invite(row, now)
        assert row is not None
        return row.staff_id


def _check_invite(row: StaffInviteRow | None, now: datetime) -> None:
    if row is None:
        raise InviteRefused("is not known")
    if row.used_at is not None:
        raise InviteRefused("was used already")
    if now >= row.expires_at:
        raise InviteRefused("has expired")


def set_password(store: Store, *, token: str, password: str, now: datetime) -> str:
    """Use the invite once to set its staff member's password; returns her id. Her sessions
    end (a new password is a new start)."""
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise PasswordRefused(MIN_PASSWORD, MAX_PASSWORD)
    hashed = _hasher.hash(password)
    with store.session() as session:
        row = session.get(StaffInviteRow, _digest(token))
        _check_invite(row, now)
        assert row is not None
        # Claimed by a conditional write: two tabs posting one invite cannot both set it.
        claimed = session.execute(
            update(StaffInviteRow)
            .where(StaffInviteRow.token_hash == row.token_hash, StaffInviteRow.used_at.is_(None))
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]  # an UPDATE's result has one
            raise InviteRefused("was used already")
        staff = row.staff_id
        current = session.get(StaffPasswordRow, staff)
        if current is None:
            session.add(StaffPasswordRow(staff_id=staff, password_hash=hashed, set_at=now))
        else:
            current.password_hash, current.set_at = hashed, now
        _end_sessions(session, staff=staff, now=now, why="password-set")
        audit(
            session,
            sealer=store.sealer,
            case_code=None,
            actor=staff,
            action="password-set",
            now=now,
            detail={"staff": staff},
        )
    return staff


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
    digest = _digest(token)
    with store.session() as session:
        session.add(
            StaffSessionRow(
                token_hash=digest,
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
            detail={"session": digest[:12], "role": member.role},
        )
    return token, StaffSession(staff=staff, role=member.role, session=digest[:12])


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
        # Spend the same time as a real check, so a refusal does not tell who exists.
        _verify(_DUMMY_HASH, password)
        return "unknown staff id" if not known else "no password set"
    if lockout.locked_until(store, staff=staff, now=now) is not None:
        return "locked"
    if not _verify(stored, password[:MAX_PASSWORD]):
        lockout.record_failure(store, directories, staff=staff, now=now, proof="sign-in")
        return "wrong password"
    try:
        staff_codes.check_code(store, directories, staff=staff, code=code, now=now, case=None)
    except RehabError as exc:
        return f"code refused ({getattr(exc, 'why', 'refused')})"
    return None


def _verify(hashed: str, password: str) -> bool:
    try:
        return _hasher.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def current(
    store: Store, directories: Directories, *, token: str, now: datetime
) -> StaffSession | None:
    """The session this token opens now, touched; None if there is none, or it ended: idle
    too long, open too long, her role changed, or she left the directory (each ending audited
    once)."""
    digest = _digest(token)
    with store.session() as session:
        row = session.get(StaffSessionRow, digest)
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
                detail={"session": digest[:12], "why": why},
            )
            return None
        row.last_seen = now
        return StaffSession(staff=row.staff_id, role=row.role, session=digest[:12])


def sign_out(store: Store, *, token: str, now: datetime) -> None:
    """End this session (audited); a token that opens none changes nothing."""
    digest = _digest(token)
    with store.session() as session:
        row = session.get(StaffSessionRow, digest)
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
            detail={"session": digest[:12]},
        )


def revoke(store: Store, *, staff: str, now: datetime) -> int:
    """End every session of `staff` and forget her password and authenticator secret, so she
    cannot sign in until enrolled again; returns how many sessions ended. Audited."""
    with store.session() as session:
        ended = _end_sessions(session, staff=staff, now=now, why="revoked")
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


def _end_sessions(session: Session, *, staff: str, now: datetime, why: str) -> int:
    rows = session.scalars(
        select(StaffSessionRow).where(
            StaffSessionRow.staff_id == staff, StaffSessionRow.ended_at.is_(None)
        )
    ).all()
    for row in rows:
        row.ended_at, row.ended_why = now, why
    return len(rows)
