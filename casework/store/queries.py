"""Read-only views of cases for `rehab plan status` and `rehab plan list`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from casework.domain.case import Case, check_in_time
from casework.domain.closing import closing_of
from casework.domain.notices import undelivered
from casework.store.case_mapping import to_domain
from casework.store.db import Store
from casework.store.repository import get_case_row, has_plan
from casework.store.tables import CaseRow, OutboxRow
from plans.model import DEFAULT_TIMEZONE


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()


def case_status(store: Store, *, code: str) -> dict[str, Any]:
    """The case as the contract's `plan status --json` describes it (plus a few extras)."""
    with store.session() as session:
        return status_in(session, get_case_row(session, code=code))


def status_in(session: Session, row: CaseRow, case: Case | None = None) -> dict[str, Any]:
    """`case_status` of a row already loaded in `session` (and its domain `case`, if built)."""
    if not has_plan(row):
        return _imported_status(row)
    code = row.code  # as stored, however it was typed
    if case is None:
        try:
            case = to_domain(row)
        except Exception:  # a case set aside for a plan that no longer loads: its rows
            if row.quarantined_at is None:
                raise
            return _quarantined_rows_status(row)
    messages = session.execute(
        select(OutboxRow.step_id, OutboxRow.status, func.count())
        .where(OutboxRow.case_code == code)
        .group_by(OutboxRow.step_id, OutboxRow.status)
    ).all()
    withdrawn = session.execute(
        select(OutboxRow.kind, OutboxRow.recipient, OutboxRow.step_id, OutboxRow.last_error)
        .where(OutboxRow.case_code == code, OutboxRow.status == "withdrawn")
        .order_by(OutboxRow.id)
    ).all()
    per_recipient = session.execute(
        select(OutboxRow.recipient, OutboxRow.status, func.count(), func.max(OutboxRow.sent_at))
        .where(OutboxRow.case_code == code)
        .group_by(OutboxRow.recipient, OutboxRow.status)
    ).all()
    by_step: dict[str | None, dict[str, int]] = {}
    for step_id, status, count in messages:
        by_step.setdefault(step_id, {})[status] = count
    by_recipient: dict[str, dict[str, Any]] = {}
    for recipient, status, count, last_sent in per_recipient:
        entry = by_recipient.setdefault(recipient, {"last_sent": None})
        entry[status] = count
        if last_sent is not None:
            entry["last_sent"] = max(filter(None, [entry["last_sent"], _iso(last_sent)]))
    steps = []
    unheard = undelivered(case)
    plan_ids = {s.id for s in case.plan.steps}
    for step_id, run in case.steps.items():
        step = case.plan.step(step_id) if step_id in plan_ids else None
        next_at = (
            check_in_time(step, run, len(run.check_ins))
            if (step is not None and run.state == "open")
            else None
        )
        steps.append(
            {
                "id": step_id,
                "domain": step.domain if step else None,
                "partner": step.partner if step else None,
                "title": step.title if step else None,
                "state": run.state,
                "started_at": _iso(run.started_at),
                "ended_at": _iso(run.ended_at),
                "reason": run.reason,
                "overdue": run.overdue_level > 0,
                "next_check_in": _iso(next_at),
                "check_ins": [
                    {"at": _iso(c.at), "outcome": c.outcome, "recorded_by": c.recorded_by}
                    for c in run.check_ins
                ],
                "messages": by_step.get(step_id, {}),
                "in_current_revision": step is not None,
                "needs_approval": run.needs_approval,
                "referral": run.referral,
                "delivered": _delivered(run.referral, step_id in unheard),
                "accepted": run.accepted,
            }
        )
    return {
        "case": row.code,
        "state": row.state,
        "flow_run_id": row.flow_run_id,
        "episode": row.episode,
        "revision": row.revision,
        "manager": row.manager,
        "supervisor": row.supervisor,
        "template": row.template,
        "timezone": case.plan.timezone,
        "start": _iso(row.start),
        "approved_at": _iso(row.approved_at),
        "sent_back": _sent_back(row),
        "reason": row.reason,
        "ended_reason": closing_of(row.reason),  # why staff closed it (`rehab case close`)
        "closed_to": row.closed_to,  # the organisation a transferred case went to
        "wake_at": _iso(row.wake_at),
        "consents": {
            scope: {"status": c.status, "at": _iso(c.at)} for scope, c in case.consents.items()
        },
        "waiting_consent": case.waiting_consent,
        "awaiting_amendment_approval": case.awaiting_amendment_approval,
        "steps": steps,
        "messages": by_recipient,
        "quarantined": _quarantine(row),
        "withdrawn": [
            {"kind": kind, "to": to, "step": step_id, "why": why}
            for kind, to, step_id, why in withdrawn
        ],
    }


def _sent_back(row: CaseRow) -> dict[str, str | None] | None:
    """Who sent the plan back to its case manager and when, until she amends it; or None."""
    if row.sent_back_at is None:
        return None
    return {"by": row.sent_back_by, "at": _iso(row.sent_back_at)}


def _quarantine(row: CaseRow) -> dict[str, str | None] | None:
    """Why and since when the engine set the case aside (services/quarantine.py), or None."""
    if row.quarantined_at is None:
        return None
    return {"at": _iso(row.quarantined_at), "reason": row.quarantine_reason}


def _quarantined_rows_status(row: CaseRow) -> dict[str, Any]:
    """A quarantined case whose stored plan cannot be read: what its rows say."""
    status = _imported_status(row)
    del status["imported"]
    status.update(
        flow_run_id=row.flow_run_id,
        revision=row.revision,
        template=row.template,
        approved_at=_iso(row.approved_at),
        sent_back=_sent_back(row),
        quarantined=_quarantine(row),
        steps=[
            {
                "id": s.step_id,
                "domain": None,
                "partner": None,
                "state": s.state,
                "next_check_in": None,
                "check_ins": [
                    {"at": _iso(c.at), "outcome": c.outcome, "recorded_by": c.recorded_by}
                    for c in s.check_ins
                ],
                "overdue": s.overdue_level > 0,
                "accepted": s.accepted,
                "messages": {},
            }
            for s in row.steps
            if s.episode == row.episode
        ],
    )
    return status


def _delivered(referral: str | None, unheard: bool) -> bool | None:
    """Whether the step's partner was told: None while that is not known yet (or was not
    kept, before rehab recorded it)."""
    if unheard or referral in ("withdrawn", "dead"):
        return False
    return True if referral == "sent" else None


def _imported_status(row: CaseRow) -> dict[str, Any]:
    """A case brought in by `rehab case import` and not launched since: no plan, no steps."""
    return {
        "case": row.code,
        "state": row.state,
        "flow_run_id": None,
        "episode": row.episode,
        "revision": 0,
        "manager": row.manager,
        "supervisor": row.supervisor,
        "template": None,
        "timezone": DEFAULT_TIMEZONE,
        "start": _iso(row.start),
        "approved_at": None,
        "sent_back": None,
        "reason": row.reason,
        "ended_reason": closing_of(row.reason),  # why staff closed it (`rehab case close`)
        "closed_to": row.closed_to,  # the organisation a transferred case went to
        "wake_at": None,
        "consents": {
            c.scope: {"status": c.status, "at": _iso(c.at)}
            for c in row.consents
            if c.episode == row.episode
        },
        "waiting_consent": [],
        "awaiting_amendment_approval": [],
        "steps": [],
        "messages": {},
        "withdrawn": [],
        "imported": True,
        "quarantined": None,
    }


def list_cases(
    store: Store, *, state: str | None = None, manager: str | None = None
) -> list[dict[str, Any]]:
    """Every case, newest first, optionally only in one state or of one case manager."""
    query = select(
        CaseRow.code,
        CaseRow.state,
        CaseRow.manager,
        CaseRow.template,
        CaseRow.revision,
        CaseRow.start,
        CaseRow.wake_at,
        CaseRow.flow_run_id,
        CaseRow.quarantined_at,
    ).order_by(CaseRow.created_at.desc(), CaseRow.id.desc())
    if state:
        query = query.where(CaseRow.state == state)
    if manager:
        query = query.where(CaseRow.manager == manager)
    with store.session() as session:
        rows = session.execute(query).all()
    return [
        {
            "case": r.code,
            "state": r.state,
            "manager": r.manager,
            "template": r.template,
            "revision": r.revision,
            "start": _iso(r.start),
            "wake_at": _iso(r.wake_at),
            "flow_run_id": r.flow_run_id,
            "quarantined": r.quarantined_at is not None,
        }
        for r in rows
    ]


def wake_count(store: Store, *, code: str) -> int:
    """How many times the engine has reconciled the case (a fresh suspend key per wake)."""
    with store.session() as session:
        return int(session.scalar(select(CaseRow.wakes).where(CaseRow.code == code)) or 0)


def due_wakes(store: Store, *, now: datetime, limit: int = 1000) -> list[tuple[str, str | None]]:
    """(case, flow run) of cases whose wake time has come, oldest first: an indexed range
    scan, so its cost follows what is due, not how many plans wait."""
    with store.session() as session:
        rows = session.execute(
            select(CaseRow.code, CaseRow.flow_run_id)
            .where(CaseRow.wake_at <= now)
            .order_by(CaseRow.wake_at)
            .limit(limit)
        ).all()
    return [(r.code, r.flow_run_id) for r in rows]
