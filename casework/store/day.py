"""A staff member's day, read in a handful of indexed queries (never a case's plan unpacked):
the decisions waiting on her, check-ins coming, overdue steps, plans waiting for her approval
and messages of her cases that could not be delivered. Her cases only; a director's are all."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Select, and_, func, or_, select

from casework.domain.decision_kinds import KINDS
from casework.store.db import Store
from casework.store.tables import CaseRow, DecisionRow, OutboxRow, StepRow

# Any select of cases' rows, whatever its columns.
Q = TypeVar("Q", bound=Select[*tuple[Any, ...]])
LIVING = ("awaiting-approval", "active")
LIMIT = 200  # rows per list: a day page is a to-do list, not an export


@dataclass
class Day:
    """What waits on one staff member, each list oldest (or soonest) first."""

    staff: str
    role: str
    decisions: list[dict[str, Any]] = field(default_factory=list)
    check_ins_today: list[dict[str, Any]] = field(default_factory=list)
    check_ins_week: list[dict[str, Any]] = field(default_factory=list)
    overdue_steps: list[dict[str, Any]] = field(default_factory=list)
    awaiting_approval: list[dict[str, Any]] = field(default_factory=list)
    undelivered: list[dict[str, Any]] = field(default_factory=list)
    cases: int = 0

    def as_data(self) -> dict[str, Any]:
        """The day as JSON-ready data."""
        return {k: v for k, v in vars(self).items()}


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()


def _mine(query: Q, staff: str, role: str, *, supervising: bool = False) -> Q:
    """Only her cases: those she manages (and, for a supervisor, those she supervises)."""
    if role == "director":
        return query
    if supervising or role == "supervisor":
        return query.where(or_(CaseRow.manager == staff, CaseRow.supervisor == staff))
    return query.where(CaseRow.manager == staff)


def day_of(
    store: Store, *, staff: str, role: str, today_ends: datetime, week_ends: datetime
) -> Day:
    """Her day: check-ins up to `today_ends` count as today's, then up to `week_ends`."""
    day = Day(staff, role)
    with store.session() as session:
        day.cases = (
            session.scalar(
                _mine(select(func.count(CaseRow.id)).where(CaseRow.state.in_(LIVING)), staff, role)
            )
            or 0
        )
        for code, kind, scope, run, created in session.execute(
            _mine(
                select(
                    CaseRow.code,
                    DecisionRow.kind,
                    DecisionRow.scope,
                    DecisionRow.flow_run_id,
                    DecisionRow.created_at,
                )
                .join(CaseRow, DecisionRow.case_id == CaseRow.id)
                .where(
                    DecisionRow.status == "waiting",
                    DecisionRow.episode == CaseRow.episode,
                    CaseRow.state.in_(LIVING),
                    CaseRow.purged_at.is_(None),
                )
                .order_by(DecisionRow.created_at, DecisionRow.id)
                .limit(LIMIT),
                staff,
                role,
            )
        ):
            spec = KINDS.get(kind)
            if spec is not None and spec.power == "approve" and role == "case-manager":
                continue  # her supervisor's to take, not hers
            day.decisions.append(
                {
                    "case": code,
                    "kind": kind,
                    "scope": scope,
                    "shown": spec.shown(scope) if spec else scope,
                    "flow_run_id": run,
                    "since": _iso(created),
                }
            )
        steps = (
            select(CaseRow.code, StepRow.step_id, StepRow.next_check_in_at, StepRow.overdue_level)
            .join(CaseRow, StepRow.case_id == CaseRow.id)
            .where(
                StepRow.episode == CaseRow.episode,
                StepRow.state == "open",
                CaseRow.state == "active",
            )
        )
        for code, step, at, _ in session.execute(
            _mine(
                steps.where(StepRow.next_check_in_at <= week_ends)
                .order_by(StepRow.next_check_in_at)
                .limit(2 * LIMIT),
                staff,
                role,
            )
        ):
            entry = {"case": code, "step": step, "at": _iso(at)}
            soon = at is not None and at <= today_ends
            (day.check_ins_today if soon else day.check_ins_week).append(entry)
        for code, step, _, level in session.execute(
            _mine(
                steps.where(StepRow.overdue_level > 0).order_by(StepRow.started_at).limit(LIMIT),
                staff,
                role,
            )
        ):
            day.overdue_steps.append({"case": code, "step": step, "level": level})
        if role != "case-manager":
            for code, manager, since in session.execute(
                _mine(
                    select(CaseRow.code, CaseRow.manager, CaseRow.updated_at)
                    .where(CaseRow.state == "awaiting-approval")
                    .order_by(CaseRow.updated_at)
                    .limit(LIMIT),
                    staff,
                    role,
                    supervising=True,
                )
            ):
                day.awaiting_approval.append(
                    {"case": code, "manager": manager, "since": _iso(since)}
                )
        for outbox_code, about, kind, recipient, at in session.execute(
            _mine(
                select(
                    OutboxRow.case_code,
                    OutboxRow.step_id,
                    OutboxRow.kind,
                    OutboxRow.recipient,
                    OutboxRow.due_at,
                )
                .join(CaseRow, and_(OutboxRow.case_code == CaseRow.code))
                .where(OutboxRow.status == "dead", CaseRow.purged_at.is_(None))
                .order_by(OutboxRow.due_at.desc())
                .limit(LIMIT),
                staff,
                role,
            )
        ):
            day.undelivered.append(
                {"case": outbox_code, "step": about, "kind": kind, "to": recipient, "due": _iso(at)}
            )
    return day
