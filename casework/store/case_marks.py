"""What the engine marks on a case row: when it is next due, a wake counted, its flow run, a
quarantine lifted."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, update
from sqlalchemy.orm import Session

from casework.store.audit_rows import audit
from casework.store.crypto import Sealer
from casework.store.tables import CaseRow


def make_due(*, row: CaseRow, at: datetime, only_sooner: bool = False) -> None:
    """The clock looks at the case at `at` (with `only_sooner`, never later than it would)."""
    if not only_sooner or row.wake_at is None or row.wake_at > at:
        row.wake_at = at


def record_flow_runs(session: Session, *, runs: dict[str, str], now: datetime) -> None:
    """`record_flow_run` for many cases by their stored codes (case code -> run id), a
    statement each and no read: the version moves on, as the ORM's own write moves it, so a
    change that read the case before still finds it changed. In code order, so two writers
    of many rows lock them in the same order."""
    for code, flow_run_id in sorted(runs.items()):
        session.execute(
            update(CaseRow)
            .where(CaseRow.code == code)
            .values(flow_run_id=flow_run_id, updated_at=now, version=CaseRow.version + 1)
            .execution_options(synchronize_session=False)
        )


def mark_due_by(session: Session, *, codes: set[str], at: datetime) -> None:
    """`make_due(only_sooner=True)` for many cases at once, by their stored codes."""
    session.execute(
        update(CaseRow)
        .where(CaseRow.code.in_(codes), or_(CaseRow.wake_at.is_(None), CaseRow.wake_at > at))
        .values(wake_at=at)
        .execution_options(synchronize_session=False)
    )


def lift_quarantine(
    session: Session, *, sealer: Sealer, row: CaseRow, by: str, why: str, now: datetime
) -> None:
    """The case is no longer set aside by the engine (audited), if it was: a person amended
    its plan, or it ended (casework/services/quarantine.py)."""
    if row.quarantined_at is None:
        return
    audit(
        session,
        sealer=sealer,
        case_code=row.code,
        actor=by,
        action="quarantine-lifted",
        now=now,
        detail={"why": why, "reason": row.quarantine_reason or ""},
    )
    row.quarantined_at = row.quarantine_reason = None


def count_wake(*, row: CaseRow) -> None:
    """One more wake: each gets a fresh suspend key."""
    row.wakes += 1


def record_flow_run(*, row: CaseRow, flow_run_id: str, now: datetime) -> None:
    """The Prefect flow run that carries the case's current episode."""
    row.flow_run_id, row.updated_at = flow_run_id, now
