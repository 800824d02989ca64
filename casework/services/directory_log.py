"""A change of a directory file is evidence (security.md rules 3 and 10): who may decide
follows the staff directory as it is now, so each new version of a directory file is recorded
in the audit log (`directory-changed`: which directory and file, old and new digest; never its
contents) by whichever process reads it first, once however many read it at that moment."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from casework.store.audit_rows import audit
from casework.store.db import Store
from casework.store.tables import DirectorySeenRow
from plans.directories import Directories

ACTOR = "operator"  # the directory files are the operator's configuration


def record_directories(store: Store, directories: Directories, *, now: datetime) -> list[str]:
    """Record each directory whose digest differs from the last one recorded; returns the
    directories recorded now (empty if another reader recorded them first)."""
    files = (
        ("partners", directories.partners_file, directories.partners_digest),
        ("staff", directories.staff_file, directories.staff_digest),
    )
    return [
        name
        for name, file, digest in files
        if digest and _record(store, name=name, file=file, digest=digest, now=now)
    ]


def _record(store: Store, *, name: str, file: str, digest: str, now: datetime) -> bool:
    with store.session() as session:
        old = _swap(session, name=name, file=file, digest=digest, now=now)
        if old == digest:
            return False
        audit(
            session,
            sealer=store.sealer,
            case_code=None,
            actor=ACTOR,
            action="directory-changed",
            now=now,
            detail={"directory": name, "file": file, "old": old, "new": digest},
        )
        return True


def _swap(session: Session, *, name: str, file: str, digest: str, now: datetime) -> str | None:
    """Make `digest` the directory's last recorded one; returns the one it replaces (None if
    none was). A second reader of the same new file waits for the first, then finds it."""
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        # A write takes SQLite's one write lock now (a SELECT would not).
        session.execute(
            update(DirectorySeenRow)
            .where(DirectorySeenRow.directory == name)
            .values(digest=DirectorySeenRow.digest)
        )
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    first = session.execute(
        insert(DirectorySeenRow)
        .values(directory=name, file=file, digest=digest, recorded_at=now)
        .on_conflict_do_nothing()
        .returning(DirectorySeenRow.directory)
    ).first()
    if first is not None:
        return None
    seen = session.scalars(
        select(DirectorySeenRow).where(DirectorySeenRow.directory == name).with_for_update()
    ).one()
    old = seen.digest
    if old != digest:
        seen.file, seen.digest, seen.recorded_at = file, digest, now
    return old
