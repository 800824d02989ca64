"""A staff member's one-time invite (security.md rule 1): `rehab staff enrol` makes it, and
with it, once, within 72 hours, she sets her password at the door."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import update

from casework.domain.errors import UnknownStaff
from casework.services.errors import InviteRefused, PasswordRefused
from casework.services.staff_secrets import (
    MAX_PASSWORD,
    MIN_PASSWORD,
    digest,
    end_sessions,
    hash_password,
)
from casework.store.audit_rows import audit
from casework.store.db import Store
from casework.store.door_tables import StaffInviteRow, StaffPasswordRow
from plans.directories import Directories

INVITE_LIFETIME = timedelta(hours=72)


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
                token_hash=digest(token),
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
        row = session.get(StaffInviteRow, digest(token))
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
    hashed = hash_password(password)
    with store.session() as session:
        row = session.get(StaffInviteRow, digest(token))
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
        end_sessions(session, staff=staff, now=now, why="password-set")
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
