"""The audit log as evidence (security.md rule 10): each row carries an HMAC, under an audit key
kept on the key mount, of the row before's HMAC and its own columns; the key mount also keeps
the chain's head (casework/store/audit_mount.py). So `rehab audit verify` finds a row changed,
deleted, inserted, back-dated or cut off the end, even by someone who can write the database
and re-make plain hashes, and names the first one. Rows written before keys (migration 0005's
SHA-256 chain) stay verifiable up to the row where the keyed chain began, which the key mount
records on the store's first opening with keys."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, event, inspect, select, update
from sqlalchemy.orm import Session, SessionTransaction

from casework.store.audit_mount import AuditKey, AuditMount, Head, Mark
from casework.store.errors import AuditHeadMissing, AuditKeyMissing
from casework.store.tables import AuditRow, StoreMeta

HEAD = "audit_head"  # store_meta key: the row appenders lock (it holds the last HMAC too)
GENESIS = ""
MOUNT = "rehab.audit_mount"  # Session.info key: the store's AuditMount (set by open_store)
_CHAIN = "rehab.audit_chain"  # Session.info key: this transaction's place in the chain

log = logging.getLogger(__name__)


def _body(prev: str, key_id: str | None, row: dict[str, Any]) -> bytes:
    moment = row["at"].astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds")
    note = row["note_sealed"]
    fields = [prev, moment, row["case_code"], row["actor"], row["action"], row["detail"]]
    fields.append(note.hex() if note is not None else None)
    if key_id is not None:  # a SHA-256 row from before keys hashed exactly these seven
        fields.append(key_id)
    return json.dumps(
        fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    ).encode()


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
    """SHA-256 of the previous row's hash and this row's every column but its id: how rows
    were chained before audit keys (migration 0005 and the rows it left)."""
    row = dict(
        at=at, case_code=case_code, actor=actor, action=action, detail=detail,
        note_sealed=note_sealed,
    )  # fmt: skip
    return hashlib.sha256(_body(prev, None, row)).hexdigest()


def row_mac(key: AuditKey, row: AuditRow) -> str:
    """The HMAC-SHA256, under `key`, of the row's predecessor's HMAC, its columns and key id."""
    return hmac.new(
        key.secret, _body(row.prev_hash or "", key.id, _columns(row)), "sha256"
    ).hexdigest()


def _columns(row: AuditRow) -> dict[str, Any]:
    return {
        "at": row.at,
        "case_code": row.case_code,
        "actor": row.actor,
        "action": row.action,
        "detail": row.detail,
        "note_sealed": row.note_sealed,
    }


def legacy_hash(row: AuditRow) -> str:
    """The SHA-256 a row written before audit keys carries, recomputed."""
    return hashlib.sha256(_body(row.prev_hash or "", None, _columns(row))).hexdigest()


def mount_of(session: Session) -> AuditMount:
    """The key mount of the store this session belongs to."""
    mount = session.info.get(MOUNT)
    if not isinstance(mount, AuditMount):
        raise RuntimeError(
            "a session of an opened store (open_store) is needed to chain audit rows"
        )
    return mount


# -- appending ----------------------------------------------------------------------------


@dataclass
class _Appending:
    """A transaction's place in the chain while it appends; its locks are held until it ends."""

    mount: AuditMount
    fd: int
    head: Head
    key: AuditKey
    meta: StoreMeta
    mac: str
    at: datetime | None
    row: AuditRow | None = None


def _lock_head_row(session: Session) -> StoreMeta:
    """The database's head row, locked until this transaction ends: one writer appends at a time."""
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


def _tip(session: Session, mount: AuditMount, head: Head) -> Mark:
    """The row to chain after: the key mount's head, or the rows after it that hold their seal
    (committed by a writer that died before it wrote the head). A head the database no longer
    holds (rows cut off, the log rewritten) is chained after all the same, so the break stays
    visible to `verify` for good."""
    last = head.last
    if last.id:
        present = session.scalar(select(AuditRow.row_hash).where(AuditRow.id == last.id))
        if present != last.mac:
            return last
    keys, tip = mount.keys(), last
    after = select(AuditRow).where(AuditRow.id > last.id).order_by(AuditRow.id)
    for row in session.scalars(after):
        if row.prev_hash != tip.mac or not seal_holds(keys, row):
            break
        tip = Mark(row.id, row.row_hash or "", row.at)
    return tip


def seal_holds(keys: dict[str, AuditKey], row: AuditRow) -> bool:
    """Whether the row's HMAC is the one its audit key makes."""
    key = keys.get(row.key_id or "")
    return key is not None and hmac.compare_digest(row_mac(key, row), row.row_hash or "")


def _place(session: Session) -> _Appending:
    """This transaction's place in the chain, taken (locks and tip) on its first append."""
    chain = session.info.get(_CHAIN)
    if chain is None:
        mount = mount_of(session)
        # The database's lock first, then the key mount's: whoever holds the file lock holds
        # the database's too or has committed already, so it never waits for us.
        meta = _lock_head_row(session)
        fd = mount.lock()
        try:
            head = mount.read_head()
            if head is None:
                raise AuditHeadMissing(mount.head_path)
            tip = _tip(session, mount, head)
            chain = _Appending(mount, fd, head, mount.current(), meta, tip.mac, tip.at)
        except BaseException:
            mount.unlock(fd)
            raise
        session.info[_CHAIN] = chain
    return chain


def append(session: Session, row: AuditRow) -> None:
    """Chain `row` to the last one, under the current audit key, and add it."""
    chain = _place(session)
    if chain.at is not None and row.at < chain.at:
        # A writer that read the clock before a racing writer's row went in is recorded at
        # that row's time: rows are never dated before the one they follow.
        row.at = chain.at
    row.prev_hash, row.key_id = chain.mac, chain.key.id
    row.row_hash = row_mac(chain.key, row)
    session.add(row)
    chain.mac, chain.at, chain.row = row.row_hash, row.at, row
    chain.meta.value = row.row_hash.encode()


@contextmanager
def savepoint(session: Session) -> Iterator[None]:
    """A SAVEPOINT for one item of a batch (one imported record, one sent message): if it is
    rolled back, so are its audit rows, and the chain goes on from the row before them. The
    chain's place is taken first, outside it: locks taken inside would go with it."""
    chain = _place(session)
    before = (chain.mac, chain.at, chain.row)
    try:
        with session.begin_nested():
            yield
    except BaseException:
        chain.mac, chain.at, chain.row = before
        chain.meta.value = chain.mac.encode()
        raise


def hold(session: Session) -> None:
    """Take this transaction's place in the chain now (its locks held until it ends), before
    any SAVEPOINT: a batch that appends in order afterwards."""
    _place(session)


@event.listens_for(Session, "after_commit")
def _write_head(session: Session) -> None:
    # A SAVEPOINT's release fires this too; the head moves only once the rows are committed,
    # else a transaction rolled back later would leave it naming a row never kept.
    if session.in_nested_transaction():
        return
    chain = session.info.get(_CHAIN)
    if chain is None or chain.row is None:
        return
    identity = inspect(chain.row).identity  # the id, without loading the (maybe expired) row
    if identity is None:  # never after a commit that inserted it; nothing to record then
        return
    try:
        chain.mount.write_head(Head(chain.head.start, Mark(int(identity[0]), chain.mac, chain.at)))
    except OSError as exc:
        # Committed, so not undone: the head stays behind, as after a crash, until the next
        # append moves it (the rows after it hold their seal).
        log.warning("audit head not written (%s); the next append moves it", exc.strerror)


@event.listens_for(Session, "after_transaction_end")
def _release(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        chain = session.info.pop(_CHAIN, None)
        if chain is not None:
            chain.mount.unlock(chain.fd)


# -- opening ------------------------------------------------------------------------------


def settle(conn: Connection, mount: AuditMount) -> None:
    """On opening: make the audit key and the chain's head on the key mount if the store has
    none yet (new, or written before audit keys: its last row is where the keyed chain
    begins). A store whose log is chained under a key refuses to open without them."""
    if not mount.has_keys() or not mount.head_path.exists():
        keyed = conn.scalar(select(AuditRow.id).where(AuditRow.key_id.is_not(None)).limit(1))
        if keyed is not None:
            if not mount.has_keys():
                raise AuditKeyMissing(mount.keys_path)
            raise AuditHeadMissing(mount.head_path)
    mount.create_keys()
    mount.keys()  # refuses a key file others may read
    with mount.locked():
        if mount.read_head() is None:
            last = conn.execute(
                select(AuditRow.id, AuditRow.row_hash, AuditRow.at)
                .order_by(AuditRow.id.desc())
                .limit(1)
            ).first()
            start = Mark(last.id, last.row_hash or "", last.at) if last else Mark(0, GENESIS, None)
            mount.write_head(Head(start, start))
