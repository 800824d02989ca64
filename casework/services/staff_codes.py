"""Staff prove who they are in the UI's forms with a time-based one-time code (RFC 6238, from
an authenticator app): secrets enrolled by the operator and sealed in the case store, each code
good once (security.md rule 2)."""

from __future__ import annotations

import hmac
from datetime import datetime
from typing import Any, cast

import pyotp
from sqlalchemy import CursorResult, or_, select, update
from sqlalchemy.orm import Session

from casework.domain.errors import UnknownStaff
from casework.services import lockout
from casework.services.errors import CodeRefused, StaffLocked
from casework.store.audit_rows import audit
from casework.store.db import Store
from casework.store.door_tables import StaffCodeRow
from plans.directories import Directories

ISSUER = "rehab"
DRIFT_STEPS = 1  # a code of the 30 s before or after is accepted too (phones' clocks drift)


def enrol(store: Store, directories: Directories, *, staff: str, now: datetime) -> str:
    """A new secret for `staff` (replacing any earlier one); returns its otpauth:// URI, for
    an authenticator app. Audited as the operator's act."""
    if staff not in directories.staff.staff:
        raise UnknownStaff(staff, directories.staff_file, list(directories.staff.staff))
    secret = pyotp.random_base32()
    with store.session() as session:
        row = session.get(StaffCodeRow, staff)
        if row is None:
            row = StaffCodeRow(staff_id=staff)
            session.add(row)
        row.secret_sealed = store.sealer.seal(secret)
        row.enrolled_at, row.last_step = now, None
        audit(
            session,
            sealer=store.sealer,
            case_code=None,
            actor="operator",
            action="staff-enrolled",
            now=now,
            detail={"staff": staff},
        )
    return pyotp.TOTP(secret).provisioning_uri(name=staff, issuer_name=ISSUER)


def check_code(
    store: Store,
    directories: Directories,
    *,
    staff: str,
    code: str,
    now: datetime,
    case: str | None,
) -> None:
    """Accept `code` of `staff` once, or raise CodeRefused (audited against `case`, without
    the code): locked, not enrolled, wrong or expired, or already used. Each refusal but
    "locked" counts towards her lockout (casework/services/lockout.py)."""
    until = lockout.locked_until(store, staff=staff, now=now)
    if until is not None:
        _refused(store, staff=staff, case=case, now=now, why="locked")
        raise StaffLocked(staff, f"{until:%Y-%m-%d %H:%M} UTC")
    why = _use(store, staff=staff, code=code.strip(), now=now)
    if why is None:
        return
    _refused(store, staff=staff, case=case, now=now, why=why)
    lockout.record_failure(store, directories, staff=staff, now=now, proof="code")
    raise CodeRefused(staff, why)


def _refused(store: Store, *, staff: str, case: str | None, now: datetime, why: str) -> None:
    """A refused code in the audit log, against the case its form was for."""
    with store.session() as session:
        audit(
            session,
            sealer=store.sealer,
            case_code=case,
            actor=staff,
            action="code-refused",
            now=now,
            detail={"why": why},
        )


def forget(session: Session, *, staff: str) -> None:
    """Remove `staff`'s secret: no code of hers is accepted until she is enrolled again."""
    row = session.get(StaffCodeRow, staff)
    if row is not None:
        session.delete(row)


def _use(store: Store, *, staff: str, code: str, now: datetime) -> str | None:
    """None if the code is good now and was not used before (and mark it used); else why."""
    with store.session() as session:
        row = session.scalars(
            select(StaffCodeRow).where(StaffCodeRow.staff_id == staff).with_for_update()
        ).one_or_none()
        if row is None:
            return "not enrolled: `rehab staff enrol` first"
        totp = pyotp.TOTP(store.sealer.open(row.secret_sealed))
        current = totp.timecode(now)
        steps = [current + d for d in range(-DRIFT_STEPS, DRIFT_STEPS + 1)]
        matched = [s for s in steps if hmac.compare_digest(totp.generate_otp(s), code)]
        if not matched:
            return "wrong or expired"
        step = matched[-1]
        # Claimed by a conditional write, not a read-then-write: two runs checking one code
        # at the same moment (SQLite has no row locks) cannot both win.
        claimed = session.execute(
            update(StaffCodeRow)
            .where(
                StaffCodeRow.staff_id == staff,
                or_(StaffCodeRow.last_step.is_(None), StaffCodeRow.last_step < step),
            )
            .values(last_step=step)
            .execution_options(synchronize_session=False)
        )
        won = cast(CursorResult[Any], claimed).rowcount == 1  # an UPDATE's result has one
        return None if won else "already used"
