"""The door's tables: staff passwords, one-time invites, sign-in sessions, authenticator
secrets (sealed) and sign-in failures and locks. Secrets are kept only as hashes (a password as
argon2, an invite or a session token as SHA-256) or sealed, so a copy of the database lets no
one sign in."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from casework.store.tables import Base, UTCDateTime


class StaffPasswordRow(Base):
    """A staff member's password, as an argon2 hash, set through her invite."""

    __tablename__ = "staff_passwords"
    staff_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    set_at: Mapped[datetime] = mapped_column(UTCDateTime())


class StaffInviteRow(Base):
    """A one-time link where a staff member sets her password: works once, until it expires."""

    __tablename__ = "staff_invites"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    staff_id: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class StaffSessionRow(Base):
    """A signed-in session: whose, with which role, since when, last seen, and how it ended."""

    __tablename__ = "staff_sessions"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    staff_id: Mapped[str] = mapped_column(String(64), index=True)
    role: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_why: Mapped[str | None] = mapped_column(String(40))


class StaffCodeRow(Base):
    """A staff member's TOTP secret (sealed), and the last time step a code of theirs was
    accepted: a code is good once."""

    __tablename__ = "staff_codes"
    staff_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    secret_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    enrolled_at: Mapped[datetime]
    last_step: Mapped[int | None] = mapped_column(BigInteger)


class StaffLockoutRow(Base):
    """One staff id's lockout state: whether and until when she is locked, and how many times
    she was; the row every failure of hers takes first, so failures are counted one at a time."""

    __tablename__ = "staff_lockouts"
    staff_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    locked_at: Mapped[datetime | None]
    locked_until: Mapped[datetime | None]
    locks: Mapped[int] = mapped_column(default=0, server_default="0")


class StaffFailureRow(Base):
    """A proof of identity refused for a staff id (a wrong, expired or used code; later a
    sign-in): counted towards a lockout while it is recent, then deleted."""

    __tablename__ = "staff_failures"
    __table_args__ = (Index("ix_staff_failures_staff_at", "staff_id", "at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(16))  # code | sign-in
