"""The domain case of a case's rows, and its changes written back onto them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from casework.domain.case import Case, CheckIn, Consent, StepProgress, check_in_time, next_wake
from casework.store.repository import current_plan
from casework.store.tables import CaseRow, CheckInRow, StepRow


def to_domain(row: CaseRow) -> Case:
    """The domain case of the row's current episode."""
    case = Case(
        code=row.code,
        plan=current_plan(row),
        start=row.start,
        state=row.state,  # type: ignore[arg-type]  # validated on write
        approved_at=row.approved_at,
        reason=row.reason,
        closed_to=row.closed_to,
        sent_back_by=row.sent_back_by,
        sent_back_at=row.sent_back_at,
    )
    for srow in row.steps:
        if srow.episode != row.episode:
            continue
        case.steps[srow.step_id] = StepProgress(
            srow.step_id,
            srow.state,  # type: ignore[arg-type]  # validated on write
            srow.started_at,
            srow.ended_at,
            srow.overdue_level,
            srow.reason,
            [
                CheckIn(c.seq, c.at, c.outcome, c.recorded_by, c.escalated)  # type: ignore[arg-type]  # validated on write
                for c in srow.check_ins
            ],
            srow.needs_approval,
            srow.referral,  # type: ignore[arg-type]  # validated on write
            srow.accepted,
            bool(srow.acknowledge_told),
            srow.answered_at,
        )
    for crow in row.consents:
        if crow.episode == row.episode:
            case.consents[crow.scope] = Consent(crow.status, crow.at)  # type: ignore[arg-type]  # validated on write
    return case


def save_domain(session: Session, *, row: CaseRow, case: Case, now: datetime) -> None:
    """Write the domain case's state back onto its rows; the version check guards races."""
    row.state, row.approved_at, row.reason = case.state, case.approved_at, case.reason
    row.closed_to = case.closed_to
    row.sent_back_by, row.sent_back_at = case.sent_back_by, case.sent_back_at
    if row.quarantined_at is None:  # a quarantined case wakes only when its Prefect side is due
        row.wake_at = next_wake(case)
    row.updated_at = now
    existing = {s.step_id: s for s in row.steps if s.episode == row.episode}
    planned = {s.id: s for s in case.plan.steps}
    for run in case.steps.values():
        srow = existing.get(run.id)
        if srow is None:
            srow = StepRow(case_id=row.id, episode=row.episode, step_id=run.id, check_ins=[])
            row.steps.append(srow)
        srow.state, srow.started_at, srow.ended_at = run.state, run.started_at, run.ended_at
        srow.overdue_level, srow.reason = run.overdue_level, run.reason
        srow.needs_approval = run.needs_approval
        if srow.accepted != run.accepted:
            srow.accepted = run.accepted
        if bool(srow.acknowledge_told) != run.acknowledge_told:
            srow.acknowledge_told = run.acknowledge_told
        if srow.answered_at != run.answered_at:
            srow.answered_at = run.answered_at
        if srow.referral != run.referral:  # the outbox writes it too: only a change is written
            srow.referral = run.referral
        step = planned.get(run.id)
        next_at = (
            check_in_time(step, run, len(run.check_ins))
            if step is not None and run.state == "open"
            else None
        )
        if srow.next_check_in_at != next_at:
            srow.next_check_in_at = next_at
        by_seq = {c.seq: c for c in srow.check_ins}
        for ci in run.check_ins:
            crow = by_seq.get(ci.seq)
            if crow is None:
                srow.check_ins.append(
                    CheckInRow(
                        seq=ci.seq,
                        at=ci.at,
                        outcome=ci.outcome,
                        escalated=ci.escalated,
                        recorded_by=ci.recorded_by,  # come and answered in one change
                        recorded_at=now if ci.recorded_by else None,
                    )
                )
                continue
            if (crow.outcome, crow.recorded_by) != (ci.outcome, ci.recorded_by):
                crow.outcome, crow.recorded_by = ci.outcome, ci.recorded_by
                crow.recorded_at = now
            crow.escalated = ci.escalated
