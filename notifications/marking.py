"""Writing what became of delivered messages, in groups. A sender hands its delivery over and
goes on to its next message; one writer thread writes every delivery handed over by then in
one transaction (one commit, one move of the audit chain's head, each message still its own
audit row), once `group` are waiting or the oldest has waited `linger`. A message is marked
only after its delivery; should the process die before its group is written, the message is
still claimed ("sending") and the next pass after the lease sends it again, as before.

A group is first written plainly; if any of its marks fails, the transaction is rolled back
and the group written again with each message in a SAVEPOINT of its own, so that one bad
mark never undoes the others'."""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future
from datetime import datetime
from types import TracebackType

from sqlalchemy import select
from sqlalchemy.orm import Session

from casework.store import audit_chain
from casework.store.db import Store
from casework.store.tables import OutboxRow
from casework.store.withdrawal import mark_referral
from notifications.notifier import Delivery
from notifications.outcomes import Policy, failed, record
from plans.directories import Directories

GROUP = 200  # marks to a transaction, at most: a bound on how long one holds the write lock
LINGER_S = 0.02  # how long the first delivery waits for others to share its transaction

Waiting = tuple[int, Delivery, "Future[str]"]


class Marker:
    """Writes what became of delivered messages, in groups, on a thread of its own; used as
    a context manager, which writes what is still waiting at its end."""

    def __init__(
        self,
        store: Store,
        directories: Directories,
        *,
        now: datetime,
        policy: Policy,
        group: int = GROUP,
        linger: float = LINGER_S,
    ) -> None:
        self._store, self._directories, self._now, self.policy = store, directories, now, policy
        self._group, self._linger = group, linger
        self._waiting: list[Waiting] = []
        self._since = 0.0  # when the oldest waiting delivery was handed over
        self._closing = False
        self._ready = threading.Condition()
        self._writer: threading.Thread | None = None
        self.groups: list[int] = []  # each written group's size, for the tests

    def __enter__(self) -> Marker:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def hand(self, message_id: int, delivery: Delivery) -> Future[str]:
        """Hand over the delivery of a claimed message; the future answers "sent", "retry" or
        "dead" once it is written, or raises if its mark could not be (the claim stays)."""
        done: Future[str] = Future()
        with self._ready:
            # Never more than a group's worth delivered and not yet being written: what a
            # crash would send twice stays bounded however slow the store.
            while len(self._waiting) >= self._group and not self._closing:
                self._ready.wait()
            if self._closing:
                raise RuntimeError("the marker is closed")
            if not self._waiting:
                self._since = time.monotonic()
            self._waiting.append((message_id, delivery, done))
            if self._writer is None:
                self._writer = threading.Thread(target=self._run, name="mark", daemon=True)
                self._writer.start()
            self._ready.notify_all()
        return done

    def close(self) -> None:
        """Write what is still waiting, then stop the writer."""
        with self._ready:
            self._closing = True
            self._ready.notify_all()
            writer = self._writer
        if writer is not None:
            writer.join()

    def _run(self) -> None:
        while True:
            with self._ready:
                while not self._waiting and not self._closing:
                    self._ready.wait()
                while (
                    len(self._waiting) < self._group
                    and not self._closing
                    and (left := self._since + self._linger - time.monotonic()) > 0
                ):
                    self._ready.wait(left)
                if not self._waiting:
                    return  # closing, and nothing left
                group = self._waiting[: self._group]
                self._waiting = self._waiting[self._group :]
                self._since = time.monotonic()
                self._ready.notify_all()  # senders waiting for room
            self.groups.append(len(group))
            self._write(group)

    def _write(self, group: list[Waiting]) -> None:
        try:
            results = self._plainly(group)
        except Exception:  # some mark failed: find which, keeping the others
            results = self._one_by_one(group)
        for (_, _, done), result in zip(group, results, strict=True):
            if isinstance(result, BaseException):
                done.set_exception(result)
            else:
                done.set_result(result)

    def _plainly(self, group: list[Waiting]) -> list[str | BaseException]:
        with self._store.session() as session:
            rows = _load(session, group)
            return [self._one(session, rows, m, delivery) for m, delivery, _ in group]

    def _one_by_one(self, group: list[Waiting]) -> list[str | BaseException]:
        results: list[str | BaseException] = []
        try:
            with self._store.session() as session:
                rows = _load(session, group)
                for m, delivery, _ in group:
                    try:
                        with audit_chain.savepoint(session):
                            result: str | BaseException = self._one(session, rows, m, delivery)
                    except Exception as exc:  # one bad mark must not undo the others'
                        result = exc
                    results.append(result)
        except Exception as exc:  # the group's commit failed: none of its marks holds
            return [exc] * len(group)
        return results

    def _one(
        self, session: Session, rows: dict[int, OutboxRow], message_id: int, delivery: Delivery
    ) -> str:
        store, now = self._store, self._now
        row = rows.get(message_id) or session.get_one(OutboxRow, message_id)
        if not delivery.delivered:
            why = f"channels failed: {list(delivery.failed)}" if delivery.failed else "no channel"
            return failed(
                store, session, row, now, policy=self.policy, why=why, directories=self._directories
            )
        row.attempts += 1
        row.status, row.sent_at = "sent", now
        if row.kind == "referral" and row.step_id:
            mark_referral(session, code=row.case_code, step_id=row.step_id, state="sent")
        row.last_error = f"channels failed: {list(delivery.failed)}" if delivery.failed else None
        detail = {"attempt": row.attempts, "ok": list(delivery.ok), "failed": list(delivery.failed)}
        record(store, session, row, "message-sent", now=now, detail=detail)
        return "sent"


def _load(session: Session, group: list[Waiting]) -> dict[int, OutboxRow]:
    """The group's rows, read in one query rather than one each."""
    ids = [message_id for message_id, _, _ in group]
    return {r.id: r for r in session.scalars(select(OutboxRow).where(OutboxRow.id.in_(ids)))}
