"""What the Prefect UI's own buttons did to the engine's runs, read back and answered.

The UI's Cancel and Delete carry no identity (Prefect OSS has no users) and no staff code, so
they cannot end a survivor's plan or take a decision: security.md gives those to people who
prove who they are. A Cancel on a living plan's run or on a waiting decision's form is undone
(the run waits again, its form included); a deleted plan run is made again by the clock. Each
is audited, so a supervisor sees who tried what from where: `prefect-ui`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from casework.domain.case import ENDED_CASE
from casework.store.audit_rows import audit
from casework.store.db import Store
from casework.store.tables import CaseRow, DecisionRow

UI_ACTOR = "prefect-ui"


@dataclass(frozen=True)
class RunOwner:
    """What a flow run carries: a living plan, or a decision still waiting on a person."""

    code: str
    kind: str  # "plan", or the decision's kind
    scope: str = ""

    @property
    def what(self) -> str:
        """`plan`, `approval`, `consent · medical`: for the audit log and the run's logs."""
        return " · ".join(p for p in (self.kind, self.scope) if p)


def owner_of(store: Store, *, flow_run_id: str) -> RunOwner | None:
    """The living plan or waiting decision this run carries; None if nothing waits on it
    (the plan ended, the decision was taken: a Cancel then changes nothing that matters)."""
    with store.session() as session:
        plan = session.execute(
            select(CaseRow.code).where(
                CaseRow.flow_run_id == flow_run_id, CaseRow.state.not_in(ENDED_CASE)
            )
        ).scalar()
        if plan is not None:
            return RunOwner(plan, "plan")
        decision = session.execute(
            select(CaseRow.code, DecisionRow.kind, DecisionRow.scope)
            .join(CaseRow, CaseRow.id == DecisionRow.case_id)
            .where(
                DecisionRow.flow_run_id == flow_run_id,
                DecisionRow.status == "waiting",
                DecisionRow.episode == CaseRow.episode,
                CaseRow.state.not_in(ENDED_CASE),
            )
        ).first()
    return None if decision is None else RunOwner(decision[0], decision[1], decision[2])


def record_undone(store: Store, *, owner: RunOwner, action: str, now: datetime) -> None:
    """Audit a UI action the engine answered: `ui-cancel-undone` or `plan-run-recreated`."""
    with store.session() as session:
        audit(
            session,
            sealer=store.sealer,
            case_code=owner.code,
            actor=UI_ACTOR,
            action=action,
            now=now,
            detail={"run": owner.what},
        )
