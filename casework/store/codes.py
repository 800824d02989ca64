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
    return spelled_otherwise(session, code)


def spelled_otherwise(session: Session, code: str) -> str:
    """`stored_code` for a code no case has in exactly these letters: the stored spelling
    that matches it whatever the case of its letters, or `code` itself."""
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
        take_write_lock(session)


def take_write_lock(session: Session) -> None:
    """SQLite: take the database's one write lock now, not at the transaction's first write. A
    write, even of no row, does it, so the reads after it see every commit before it and a
    racing change waits its turn."""
    session.execute(text("UPDATE cases SET id = id WHERE 1 = 0"))


def lock_codes(session: Session, codes: list[str]) -> None:
    """`lock_code` for many codes at once (a bulk import's batch), taken in one order so two
    batches sharing codes never wait for each other in a circle."""
    if not codes:
        return
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text(
                "SELECT pg_advisory_xact_lock(:kind, hashtext(c)) "
                "FROM unnest(CAST(:codes AS text[])) WITH ORDINALITY AS t(c, n) ORDER BY n"
            ),
            {"kind": CODE_LOCKS, "codes": sorted({c.lower() for c in codes})},
        )
    else:
        lock_code(session, codes[0])  # SQLite's one write lock covers every code


def stored_spellings(session: Session, codes: list[str]) -> dict[str, list[str]]:
    """The stored codes matching each of `codes` whatever the case of their letters, in one
    read: each code folded to lower case, to the spellings stored (oldest first)."""
    lowered = sorted({c.lower() for c in codes})
    found: dict[str, list[str]] = {}
    for start in range(0, len(lowered), 500):  # bounded IN lists
        rows = session.execute(
            select(func.lower(CaseRow.code), CaseRow.code)
            .where(func.lower(CaseRow.code).in_(lowered[start : start + 500]))
            .order_by(CaseRow.id)
        )
        for folded, code in rows:
            found.setdefault(folded, []).append(code)
    return found


def spelling(code: str, stored: list[str]) -> str:
    """The case's code as stored (see `stored_code`), from the spellings `stored_spellings`
    found for it; AmbiguousCode if several and none is exactly `code`."""
    if code in stored or not stored:
        return code
    if len(stored) > 1:
        raise AmbiguousCode(code, list(stored))
    return stored[0]
