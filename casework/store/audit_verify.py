"""`rehab audit verify`: the audit chain walked from its first row against the audit keys and
the head kept on the key mount (casework/store/audit_chain.py says how rows are chained). The
first row that does not hold is named: changed, deleted (named by the row after it), inserted
without the key, chained under a retired key, back-dated, or rows cut off the end."""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from casework.store.audit_chain import GENESIS, legacy_hash, mount_of, row_mac
from casework.store.audit_mount import AuditKey, Head, Mark
from casework.store.tables import AuditRow


@dataclass(frozen=True)
class Verdict:
    """What `verify` found: how many rows it checked, the first broken one with why, and how
    many rows hold their seal past the key mount's head (a crash before the head was written)."""

    rows: int
    broken_at: int | None = None
    why: str = ""
    behind: int = 0

    @property
    def ok(self) -> bool:
        """True if the whole chain holds."""
        return self.broken_at is None and not self.why


def verify(session: Session) -> Verdict:
    """Walk the chain from the first row; stop at the first that does not hold."""
    mount = mount_of(session)
    with mount.locked():  # no writer between its commit and its head write
        head = mount.read_head()
        end = session.scalar(select(func.max(AuditRow.id))) or 0
    if head is None:
        return Verdict(0, None, f"the chain's head on the key mount ({mount.head_path}) is gone")
    walk = _Walk(mount.keys(), head)
    rows = select(AuditRow).where(AuditRow.id <= end).order_by(AuditRow.id)
    for row in session.scalars(rows).yield_per(1000):
        why = walk.step(row)
        if why:
            return Verdict(walk.count, row.id, why)
    if not walk.seen_head:
        after = f"row {walk.last.id}" if walk.last.id else "the start"
        return Verdict(walk.count, None, f"rows after {after} were deleted: the key mount's "
                       f"head is row {head.last.id}")  # fmt: skip
    return Verdict(walk.count, behind=walk.behind)


class _Walk:
    """The chain walked row by row: what each row must be, given the ones before it."""

    def __init__(self, keys: dict[str, AuditKey], head: Head) -> None:
        self.keys, self.head = keys, head
        self.last = Mark(0, GENESIS, None)
        self.count, self.behind, self.rank = 0, 0, -1
        self.seen_head = head.last.id == 0

    def step(self, row: AuditRow) -> str:
        """Why `row` breaks the chain, or "" if it holds (and then it is the last one)."""
        self.count += 1
        last, start = self.last, self.head.start
        if row.prev_hash != last.mac:
            follows = f"row {last.id}" if last.id else "the start of the log"
            return f"row {row.id} does not follow {follows}: a row before it was deleted or changed"
        if row.id <= start.id:
            if row.key_id is not None or legacy_hash(row) != row.row_hash:
                return f"row {row.id} was changed after it was written"
            if row.id == start.id and row.row_hash != start.mac:
                return (
                    f"the rows up to row {row.id} were rewritten: the key mount holds another "
                    "hash for the last row before audit keys"
                )
        else:
            why = self._keyed(row)
            if why:
                return why
        if self.seen_head:
            self.behind += 1
        elif row.id == self.head.last.id:
            if row.row_hash != self.head.last.mac:
                return (
                    f"row {row.id} is not the row the key mount's head holds: the log was rewritten"
                )
            self.seen_head = True
        self.last = Mark(row.id, row.row_hash or "", row.at)
        return ""

    def _keyed(self, row: AuditRow) -> str:
        key = self.keys.get(row.key_id or "")
        if row.key_id is None:
            return (
                f"row {row.id} carries a plain hash after the keyed chain began "
                f"(after row {self.head.start.id}): it was not written by rehab"
            )
        if key is None:
            return f"row {row.id} names audit key {row.key_id}, which the key mount does not hold"
        if key.rank < self.rank:
            return (
                f"row {row.id} is chained under audit key {key.id}, retired before it was written"
            )
        if not hmac.compare_digest(row_mac(key, row), row.row_hash or ""):
            return f"row {row.id} was changed after it was written, or forged without the audit key"
        if self.last.at is not None and row.at < self.last.at:
            return (
                f"row {row.id} is dated {row.at.isoformat()}, before row {self.last.id} "
                f"({self.last.at.isoformat()}): it was back-dated"
            )
        self.rank = key.rank
        return ""
