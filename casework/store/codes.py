"""Case codes as people type them: matched whatever the case of their letters (contract
v3), stored as first given, and one case per code even when two spellings race."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from casework.store.errors import AmbiguousCode
from casework.store.tables import CaseRow


def _folded(code: str) -> Any:
    """The condition matching `code` whatever the case of its letters (contract v3). Codes
    are ASCII, which lower() folds alike on SQLite and PostgreSQL."""
    return func.lower(CaseRow.code) == code.lower()


def stored_code(session: Session, code: str) -> str:
    """The case's code as stored, for a code typed in any case; `code` itself when no case
    has it (a new case keeps the spelling it is first given). The exact spelling is looked
    up first, by the unique index; the case-folded comparison scans, so it runs only when
    that misses."""
    if session.scalar(select(CaseRow.code).where(CaseRow.code == code)) is not None:
        return code
    found = session.scalars(select(CaseRow.code).where(_folded(code)).order_by(CaseRow.id)).all()
    if len(found) > 1:
        # Written before codes were matched case-insensitively: only the exact one is sure.
        raise AmbiguousCode(code, list(found))
    return found[0] if found else code


CODE_LOCKS = 7247323  # PostgreSQL advisory lock class of case codes (migrations use 7247322)


def lock_code(session: Session, code: str) -> None:
    """Hold, until the transaction ends, the right to create the case `code` in any case of
    its letters: the unique index tells `BC-1` from `bc-1`, so without it two launches (or
    imports) of the two spellings at one moment would both find no case and make two."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(:kind, hashtext(:code))"),
            {"kind": CODE_LOCKS, "code": code.lower()},
        )
    else:
        # SQLite: a write, even of no row, takes the database's write lock at once, so the
        # reads after it see every commit before it and a racing launch waits its turn.
        session.execute(text("UPDATE cases SET id = id WHERE 1 = 0"))
