"""A partner's answer through its link (security.md rule 12): what the link's page shows, and
the answer recorded, by `partner:<id>`, in one transaction with the row that makes the link
work once. Nothing here reads or shows the person's data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from casework.domain.case import Case, check_in_time
from casework.domain.decision_kinds import check_in_scope
from casework.domain.errors import LinkRefused
from casework.domain.partner_answers import answer, answered, still_the_partners
from casework.domain.partner_links import Link, read
from casework.domain.time_passes import advance
from casework.services.unit_of_work import ENGINE, CaseChange, retry_on_conflict
from casework.store.case_mapping import to_domain
from casework.store.db import Store
from casework.store.decisions import record_decision
from casework.store.partner_tables import PartnerAnswerRow
from casework.store.repository import find_case_row
from plans.directories import Directories


@dataclass(frozen=True)
class Asked:
    """What a link's page shows: `status` is `open`, `answered` (with what was recorded),
    or why it cannot be used (`unknown`, `expired`, `gone`, `early`); the step's title and
    when (the check-in, or the step's start) only for a link still about a living case."""

    status: str
    link: Link | None = None
    title: str = ""
    when: datetime | None = None
    recorded: str | None = None
    detail: str | None = None


def _stored_answer(session: Session, link: Link) -> PartnerAnswerRow | None:
    return session.scalars(
        select(PartnerAnswerRow).where(
            PartnerAnswerRow.case_code == link.case,
            PartnerAnswerRow.step_id == link.step,
            PartnerAnswerRow.question == link.slot,
            PartnerAnswerRow.occurrence == link.occurrence,
        )
    ).first()


def _about(case: Case, link: Link) -> tuple[str, datetime | None]:
    step = case.plan.step(link.step)
    run = case.steps[link.step]
    if link.seq is None:
        return step.title, run.started_at
    seq = link.seq
    at = run.check_ins[seq].at if seq < len(run.check_ins) else check_in_time(step, run, seq)
    return step.title, at


def look(store: Store, token: str, *, now: datetime) -> Asked:
    """What the link `token` asks, and whether it may still be answered. Changes nothing."""
    try:
        link = read(token, store.links.secret(), now=now)
    except LinkRefused as exc:
        return Asked(exc.why, exc.link if isinstance(exc.link, Link) else None)
    with store.session() as session:
        row = find_case_row(session, code=link.case)
        if row is None or row.purged_at is not None or link.episode != row.episode:
            return Asked("gone", link)
        case = to_domain(row)
        try:
            still_the_partners(case, link)
        except LinkRefused as exc:
            return Asked(exc.why, link)
        title, when = _about(case, link)
        stored = _stored_answer(session, link)
        if stored is not None:
            return Asked("answered", link, title, when, stored.choice, stored.detail)
        already = answered(case, link)
        if already is not None:
            return Asked("answered", link, title, when, already)
        if case.steps[link.step].state != "open" or case.ended:
            return Asked("gone", link)
        if link.question == "check-in" and link.slot != "another-date" and when and when > now:
            return Asked("early", link, title, when)  # how it went is told after it
        return Asked("open", link, title, when)


def respond(
    store: Store,
    directories: Directories | None,
    token: str,
    *,
    now: datetime,
    reason: str | None = None,
    wanted: date | None = None,
) -> Asked:
    """Record the answer the link `token` carries (a decline's `reason`, the `wanted` date of
    another date); the page then shows it as recorded. A link already answered, expired or
    gone changes nothing and says so."""
    seen = look(store, token, now=now)
    if seen.status != "open" or seen.link is None:
        return seen
    link = seen.link
    partner = f"partner:{link.partner}"

    def change() -> None:
        with CaseChange(
            store, link.case, now=now, directories=directories, queue_reminders=True, due_now=True
        ) as work:
            row, case, session = work.row, work.case, work.session
            engine = [] if row.quarantined_at is not None else advance(case, now)
            for event in engine:
                work.audit(event.kind, actor=ENGINE, detail=event.facts())
            theirs = answer(case, link, now, reason=reason, wanted=wanted)
            if link.question == "check-in" and link.choice != "another-date":
                scope = check_in_scope(link.step, link.seq or 0)
                record_decision(
                    session, case=row, kind="check-in", scope=scope, decision=link.choice,
                    by=partner, now=now,
                )  # fmt: skip
            detail = reason or (wanted.isoformat() if wanted else None)
            session.add(
                PartnerAnswerRow(
                    case_code=row.code,
                    step_id=link.step,
                    question=link.slot,
                    occurrence=link.occurrence,
                    partner=link.partner,
                    choice=link.choice,
                    detail=detail,
                    answered_at=now,
                )
            )
            work.events += engine + theirs
            facts = {"step": link.step, "occurrence": link.occurrence, "choice": link.choice}
            if reason:
                facts["reason"] = reason
            work.audit(f"partner-{link.choice}", actor=partner, detail=facts)

    try:
        retry_on_conflict(change)  # the clock may be tending the case at this moment
    except LinkRefused as exc:
        return Asked(exc.why, link, seen.title, seen.when)
    except IntegrityError:  # answered at the same moment through another of its links
        pass
    return look(store, token, now=now)
