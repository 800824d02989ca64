"""Sending the outbox: due messages, in the recipient's language and outside their quiet hours,
retried with backoff, dead after too many failures (and the supervisor told). Every send and
failure is in the audit log."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from casework.domain.case import Case
from casework.domain.notices import after_quiet_hours, gone, referral_gone
from casework.store.case_mapping import to_domain
from casework.store.db import Store
from casework.store.repository import get_case_row, has_plan, step_as_planned
from casework.store.tables import CaseRow, OutboxRow, StepRow
from notifications.context import (
    Recipient,
    message_context,
    programme_zone,
    recipient,
    reminded_check_in,
    staff_context,
)
from notifications.links import PartnerLinks
from notifications.marking import Marker
from notifications.notifier import Notifier, batch
from notifications.outcomes import Policy, dead, failed, release, withdrawn
from notifications.render import render
from notifications.staff_links import case_url, staff_links
from notifications.words import in_language
from plans.directories import Directories
from plans.model import DEFAULT_TIMEZONE

__all__ = ["Policy", "send_due"]

log = logging.getLogger("rehab.outbox")


def _claim(store: Store, now: datetime, policy: Policy) -> list[int]:
    """Take due messages for this sender; a crashed sender's claims expire after the lease."""
    with store.session() as session:
        rows = session.scalars(
            select(OutboxRow)
            .where(OutboxRow.status.in_(("pending", "sending")), OutboxRow.next_attempt_at <= now)
            .order_by(OutboxRow.next_attempt_at)
            .limit(policy.batch)
            .with_for_update(skip_locked=True)
        ).all()
        for row in rows:
            row.status, row.next_attempt_at = "sending", now + policy.lease
        return [row.id for row in rows]


def send_due(
    store: Store,
    directories: Directories,
    notifier: Notifier,
    *,
    now: datetime,
    policy: Policy,
    links: PartnerLinks | None = None,
    told: Callable[[set[str]], None] | None = None,
) -> Counter[str]:
    """Send every message that is due; returns how many were sent, held, retried, dead.
    With `links`, partners' referrals and reminders carry their answer links. `told` is
    given the cases whose messages this pass sent, failed or withdrew (what their runs'
    timelines count has changed)."""

    claimed = _claim(store, now, policy)
    snapshot = _snapshot(store, claimed)

    def released(message_id: int, exc: Exception) -> str:
        log.warning("message %s could not be processed (%s)", message_id, type(exc).__name__)
        why = f"{type(exc).__name__} in the outbox"
        return release(store, directories, message_id, now, policy=policy, why=why)

    holds: dict[int, datetime] = {}  # held by quiet hours, as the snapshot says: until when

    def one(message_id: int) -> Result:
        try:
            quick = _quick(snapshot, directories, message_id, now, links)
            if isinstance(quick, datetime):
                holds[message_id] = quick
                return "held"
            if quick is not None:
                delivery = notifier.send(quick[0].urls, quick[1], quick[2])
                return marker.hand(message_id, delivery)
            return _send_one(store, directories, notifier, marker, message_id, now=now, links=links)
        except Exception as exc:  # one broken message must not stop the others
            return released(message_id, exc)

    def settled(message_id: int, result: Result) -> str:
        try:
            return result if isinstance(result, str) else result.result()
        except Exception as exc:  # its mark was not written: counted as a failed attempt
            return released(message_id, exc)

    # Within a pass, e-mail to one server goes over connections kept open (notifier.py), and
    # deliveries are marked in groups (marking.py) while the next messages are sent.
    with Marker(store, directories, now=now, policy=policy) as marker, batch(notifier):
        if policy.workers <= 1 or len(claimed) <= 1:
            results = [one(m) for m in claimed]
        else:  # delivery waits on the network: send in parallel
            with ThreadPoolExecutor(max_workers=policy.workers, thread_name_prefix="send") as pool:
                results = list(pool.map(one, claimed))
    said = {m: settled(m, o) for m, o in zip(claimed, results, strict=True)}
    try:
        _hold(store, holds)
    except Exception as exc:  # not held: each is counted as a failed attempt
        said |= {m: released(m, exc) for m in holds}
    if told is not None:
        changed = {
            row.case_code
            for m, result in said.items()
            if result != "held" and (row := snapshot.rows.get(m)) is not None and row.case_code
        }
        if changed:
            told(changed)
    return Counter(said.values())


Result = str | Future[str]  # decided, or a delivery being marked


Known = tuple[CaseRow, Case | None]  # a case's row as read at the pass's start, its domain case


@dataclass(frozen=True)
class _Snapshot:
    """The claimed rows and their cases, read at a pass's start in a few queries, not a
    dozen per message. A message found about to be sent from it is sent without reading
    again (as if the pass had read each case just then), and those it finds held by quiet
    hours are put back together; any other outcome (withdrawn, dead, an error) is decided
    again from the store in a transaction of its own."""

    rows: dict[int, OutboxRow]
    cases: dict[str, Known]


def _snapshot(store: Store, claimed: list[int]) -> _Snapshot:
    with store.session() as session:
        rows = {
            r.id: r for r in session.scalars(select(OutboxRow).where(OutboxRow.id.in_(claimed)))
        }
        codes = {r.case_code for r in rows.values() if r.case_code}
        cases: dict[str, Known] = {}
        for row in session.scalars(
            select(CaseRow)
            .where(CaseRow.code.in_(codes), CaseRow.purged_at.is_(None))
            .options(
                selectinload(CaseRow.revisions),
                selectinload(CaseRow.consents),
                selectinload(CaseRow.steps).selectinload(StepRow.check_ins),
            )
        ):
            cases[row.code] = (row, _domain(row))
    return _Snapshot(rows, cases)


def _domain(row: CaseRow) -> Case | None:
    try:
        return to_domain(row) if has_plan(row) else None
    except Exception:  # a broken plan: its messages are decided one at a time from the store
        return None


def _quick(
    snapshot: _Snapshot,
    directories: Directories,
    message_id: int,
    now: datetime,
    links: PartnerLinks | None,
) -> tuple[Recipient, str, str] | datetime | None:
    """(to whom, subject, body) if the snapshot says the message goes now; when it is held
    until, if the snapshot says quiet hours hold it (at night, every message: none is read
    again just to be held); else None."""
    row = snapshot.rows.get(message_id)
    if row is None or row.kind == "message-dead":  # the failed message is read from the store
        return None
    if row.case_code and row.recipient.startswith("staff:"):
        return None  # its link names the form waiting now: read from the store
    known = snapshot.cases.get(row.case_code) if row.case_code else None
    if row.case_code and known is None:
        return None
    try:
        verdict, who, subject, body = _compose(None, directories, row, now, known, links=links)
    except Exception:  # decided again from the store, where a failure is recorded
        return None
    if verdict == "held" and row.next_attempt_at is not None:
        return row.next_attempt_at  # as `_compose` set it on the snapshot's copy
    return (who, subject, body) if verdict == "send" and who is not None else None


def _hold(store: Store, holds: dict[int, datetime]) -> None:
    """Put these claimed messages back, each due again when its quiet hours end: one
    transaction for the pass's held messages. One no longer ours to send (withdrawn while the
    pass went on: its schedule changed) stays as it is now."""
    if not holds:
        return
    with store.session() as session:
        for row in session.scalars(
            select(OutboxRow).where(OutboxRow.id.in_(list(holds)), OutboxRow.status == "sending")
        ):
            row.status, row.next_attempt_at = "pending", holds[row.id]


def _compose(
    session: Session | None,
    directories: Directories,
    row: OutboxRow,
    now: datetime,
    known: Known | None = None,
    *,
    links: PartnerLinks | None = None,
) -> tuple[str, Recipient | None, str, str]:
    """What to do with a claimed row: ("send", who, subject, body), or ("dead" | "withdrawn" |
    "held", ...) with the reason in place of the subject. Without a session, from `known`."""
    who = recipient(directories, row.recipient)
    if who is None:
        return "dead", None, "recipient no longer in the directories", ""
    if not row.case_code:  # about a staff member, not a case (a lockout)
        arrives = after_quiet_hours(now, who.quiet_hours, who.tz or programme_zone(directories))
        if arrives > now:
            row.next_attempt_at = arrives
            return "held", who, "", ""
        return "send", who, *render(row.kind, who.language, staff_context(directories, row, who))
    if known is None:
        assert session is not None
        known = (get_case_row(session, code=row.case_code), None)
    case_row, case = known
    door = links.public_url if links is not None else ""
    if row.kind == "case-quarantined":  # written from the row: its plan may be what is broken
        return _compose_quarantined(row, case_row, who, now, door)
    case = case or to_domain(case_row)
    why = (
        referral_gone(row.step_id, case)
        if row.kind == "referral"
        else gone(row.kind, row.step_id, row.occurrence, case)
    )
    if why is not None:
        return "withdrawn", who, why, ""
    step = step_as_planned(case_row, row.step_id) if row.step_id else None
    urgent = row.kind == "referral" and step is not None and step.urgent
    arrives = now if urgent else after_quiet_hours(now, who.quiet_hours, who.tz or case.plan.tz)
    check_in = reminded_check_in(case, row) if row.kind == "reminder" else None
    if arrives > now and check_in is not None and arrives >= check_in:
        return "withdrawn", who, "quiet hours last until its check-in", ""
    if arrives > now:
        row.next_attempt_at = arrives
        return "held", who, "", ""
    context = message_context(session, directories, row, case, who, step=step)
    if links is not None:
        context["links"] = links.for_message(row, case_row, case, now=now, language=who.language)
    if row.recipient.startswith("staff:"):  # staff have the door, not a shell: links
        context.update(staff_links(door, session, row, case_row))
    subject, body = render(row.kind, who.language, context)
    return "send", who, subject, body


def _compose_quarantined(
    row: OutboxRow, case_row: CaseRow, who: Recipient, now: datetime, door: str
) -> tuple[str, Recipient | None, str, str]:
    """The supervisor's notice that the engine set a case aside: code, reason, manager."""
    arrives = after_quiet_hours(now, who.quiet_hours, who.tz or ZoneInfo(DEFAULT_TIMEZONE))
    if arrives > now:
        row.next_attempt_at = arrives
        return "held", who, "", ""
    context = {
        "case": case_row.code,
        "reason": case_row.quarantine_reason or "lifted since",
        "manager": case_row.manager,
        "case_url": case_url(door, case_row.code),
    }
    subject, body = render(row.kind, who.language, in_language(context, who.language))
    return "send", who, subject, body


def _send_one(
    store: Store,
    directories: Directories,
    notifier: Notifier,
    marker: Marker,
    message_id: int,
    *,
    now: datetime,
    links: PartnerLinks | None,
) -> Result:
    policy = marker.policy
    with store.session() as session:
        row = session.get_one(OutboxRow, message_id)
        try:
            verdict, who, subject, body = _compose(session, directories, row, now, links=links)
        except Exception as exc:  # a message that cannot be written is a failed attempt
            log.warning("message %s could not be written (%s)", message_id, type(exc).__name__)
            why = f"could not be written ({type(exc).__name__})"
            return failed(store, session, row, now, policy=policy, why=why, directories=directories)
        if verdict == "dead":
            return dead(store, session, row, now, why=subject, directories=directories)
        if verdict == "withdrawn":
            return withdrawn(store, session, row, now, subject)
        if verdict == "held":
            row.status = "pending"
            return "held"
    assert who is not None
    delivery = notifier.send(who.urls, subject, body)  # outside any transaction: it is slow
    return marker.hand(message_id, delivery)
