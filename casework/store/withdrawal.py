"""Withdrawing messages whose reason has gone, and what became of each step's referral."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from casework.domain.case import Case
from casework.domain.notices import Notice, gone, referral_gone
from casework.store.tables import CaseRow, OutboxRow, StepRow


def withdraw_stale_messages(
    session: Session, *, case: Case, now: datetime, schedule: set[str] | None = None
) -> set[str]:
    """Withdraw the unsent messages whose reason has gone (`messages.gone`: a decision taken,
    a check-in come or recorded, a step ended) and, after an amendment, future reminders not in
    the new `schedule` (reminder keys). A referral whose step ended unsent is withdrawn, its
    step marked so; the steps whose referral was withdrawn are returned (their partner never
    heard of them, so is not told they are cancelled)."""
    rows = session.scalars(
        select(OutboxRow).where(
            OutboxRow.case_code == case.code,
            OutboxRow.status.in_(("pending", "sending")),
        )
    ).all()
    unheard: set[str] = set()
    for row in rows:
        if row.kind == "referral":
            # One being sent right now may reach the partner: then so must the cancellation.
            why = referral_gone(row.step_id, case) if row.status == "pending" else None
            if why is not None:
                withdraw(row, why)
                unheard.add(row.step_id or "")
                case.steps[row.step_id or ""].referral = "withdrawn"
            continue
        if row.status == "sending" and row.kind != "reminder":
            continue  # on its way; the sender judges it
        why = gone(row.kind, row.step_id, row.occurrence, case)
        moved = schedule is not None and row.key not in schedule and row.due_at > now
        if why is None and row.kind == "reminder" and moved:
            why = "its schedule changed"
        if why is not None:
            withdraw(row, why)
    return unheard


def withdraw(row: OutboxRow, why: str) -> None:
    """A message that will not be sent, and why (the timeline and `plan status` show it)."""
    row.status, row.last_error = "withdrawn", why


def mark_referral(session: Session, *, code: str, step_id: str, state: str) -> None:
    """What became of a step's referral (sent, withdrawn, dead), on the current episode's
    step row: only that column is written, so a racing change to the case is not undone."""
    row = session.scalars(select(CaseRow).where(CaseRow.code == code)).one()
    step = session.scalars(
        select(StepRow).where(
            StepRow.case_id == row.id, StepRow.episode == row.episode, StepRow.step_id == step_id
        )
    ).one_or_none()
    if step is not None and step.referral in (None, "pending"):
        step.referral = state


def told_of_withdrawal(code: str, manager: str, episode: int, step: str, now: datetime) -> Notice:
    """The case manager hears that a step ran its time with its partner never told."""
    return Notice("referral-withdrawn", f"staff:{manager}", code, now, step, str(episode))


def referral_withdrawn(session: Session, row: OutboxRow, now: datetime) -> list[Notice]:
    """After the sender withdrew `row` (a referral): the manager's notice if its step ran its
    time (a cancelled or skipped step needed no partner)."""
    case = session.scalars(select(CaseRow).where(CaseRow.code == row.case_code)).one()
    state = session.scalar(
        select(StepRow.state).where(
            StepRow.case_id == case.id,
            StepRow.episode == case.episode,
            StepRow.step_id == row.step_id,
        )
    )
    if state != "completed" or row.step_id is None:
        return []
    return [told_of_withdrawal(case.code, case.manager, case.episode, row.step_id, now)]
