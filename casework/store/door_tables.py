"""The door's tables: staff passwords, one-time invites and sign-in sessions. Secrets are kept
only as hashes (a password as argon2, an invite or a session token as SHA-256), so a copy of
the database lets no one sign in."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
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
