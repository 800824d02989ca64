"""The audit log as evidence (security.md rule 10): every row carries the hash of the row
before it (one chain over the whole log, in the order rows were written), and the store keeps
the hash of the last, so `rehab audit verify` finds a row changed, deleted or cut off the end,
and names the first one."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from casework.store.tables import AuditRow, StoreMeta

HEAD = "audit_head"  # store_meta key: the hash of the last row
GENESIS = ""


def row_hash(
    prev: str,
    *,
    at: datetime,
    case_code: str | None,
    actor: str,
    action: str,
    detail: dict[str, Any],
    note_sealed: bytes | None,
) -> str:
    """SHA-256 of the previous row's hash and this row's every column but its id."""
    moment = at.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds")
    body = json.dumps(
        [
            prev,
            moment,
            case_code,
            actor,
            action,
            detail,
            note_sealed.hex() if note_sealed is not None else None,
        ],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(body.encode()).hexdigest()


def _head(session: Session) -> StoreMeta:
    """The chain's head, locked until this transaction ends: one writer appends at a time."""
    if session.get_bind().dialect.name == "sqlite":
        # A write takes SQLite's one write lock now (a SELECT would not), so no other writer
        # appends between our read of the head and our row.
        session.execute(
            update(StoreMeta).where(StoreMeta.key == HEAD).values(value=StoreMeta.value)
        )
    head = session.scalars(
        select(StoreMeta).where(StoreMeta.key == HEAD).with_for_update()
    ).one_or_none()
    if head is None:
        head = StoreMeta(key=HEAD, value=GENESIS.encode())
        session.add(head)
    return head


def append(session: Session, row: AuditRow) -> None:
    """Chain `row` to the last one and add it."""
    head = _head(session)
    row.prev_hash = head.value.decode()
    row.row_hash = row_hash(
        row.prev_hash,
        at=row.at,
        case_code=row.case_code,
        actor=row.actor,
        action=row.action,
        detail=row.detail,
        note_sealed=row.note_sealed,
    )
    session.add(row)
    head.value = row.row_hash.encode()


@dataclass(frozen=True)
class Verdict:
    """What `verify` found: how many rows it checked, and the first broken one with why."""

    rows: int
    broken_at: int | None = None
    why: str = ""

    @property
    def ok(self) -> bool:
        """True if the whole chain holds."""
        return self.broken_at is None and not self.why


def verify(session: Session) -> Verdict:
    """Walk the chain from the first row; stop at the first that does not hold."""
    expected, count, last_id = GENESIS, 0, None
    for row in session.scalars(select(AuditRow).order_by(AuditRow.id)).yield_per(1000):
        count += 1
        if row.prev_hash != expected:
            return Verdict(
                count,
                row.id,
                f"row {row.id} does not follow "
                + (f"row {last_id}" if last_id else "the start of the log")
                + ": a row before it was deleted or changed",
            )
        recomputed = row_hash(
            row.prev_hash or "",
            at=row.at,
            case_code=row.case_code,
            actor=row.actor,
            action=row.action,
            detail=row.detail,
            note_sealed=row.note_sealed,
        )
        if recomputed != row.row_hash:
            return Verdict(count, row.id, f"row {row.id} was changed after it was written")
        expected, last_id = row.row_hash, row.id
    head = session.get(StoreMeta, HEAD)
    if head is None and count:
        return Verdict(
            count,
            None,
            "the chain's last hash is gone: rows were cut off the end or the log was rewritten",
        )
    if head is not None and head.value.decode() != expected:
        return Verdict(
            count,
            None,
            "rows after " + (f"row {last_id}" if last_id else "the start") + " were deleted",
        )
    return Verdict(count)
