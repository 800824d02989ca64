"""Decisions that wait on a person (plan approval, consent per scope, a due check-in's outcome,
an open-ended step's completion), tracked in the store so that each has exactly one flow run
and that run is told when the decision is taken."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from casework.domain.case import Case
from casework.store.db import Store
from casework.store.repository import get_case_row, to_domain
from casework.store.tables import CaseRow, DecisionRow


@dataclass(frozen=True)
class Decision:
    """One decision of a case's current episode."""

    case: str
    episode: int
    kind: str
    scope: str
    status: str  # waiting | decided | obsolete
    flow_run_id: str | None
    decision: str | None
    decided_by: str | None
    settled: bool
    attempts: int = 0  # submissions of its form refused (a wrong code, someone not allowed)

    @property
    def idempotency_key(self) -> str:
        """Names the decision's one flow run, whoever creates it and however often."""
        return f"{self.case}/{self.episode}/{self.kind}/{self.scope or '-'}"

    @property
    def run_name(self) -> str:
        """`<case> · consent · <scope>`, `<case> · check-in · <step> #<n>`, `<case> · approval`."""
        scope = self.scope
        if self.kind == "check-in":
            step, number = check_in_of(scope)
            scope = f"{step} #{number}"
        return " · ".join(p for p in (self.case, self.kind, scope) if p)


def amendment_scope(revision: int) -> str:
    """The scope of the decision on the amendments up to plan revision `revision`."""
    return f"rev-{revision}"


def check_in_scope(step: str, seq: int) -> str:
    """The scope of the decision on a step's check-in number `seq` (from 0): `psych-3`
    (Prefect's form keys take letters, digits and dashes only)."""
    return f"{step}-{seq + 1}"


def check_in_of(scope: str) -> tuple[str, int]:
    """The step and the check-in's number (from 1) a check-in decision's scope names."""
    step, number = scope.rsplit("-", 1)
    return step, int(number)


def _view(case: CaseRow, row: DecisionRow) -> Decision:
    return Decision(
        case.code,
        row.episode,
        row.kind,
        row.scope,
        row.status,
        row.flow_run_id,
        row.decision,
        row.decided_by,
        row.settled,
        row.attempts,
    )


def _rows(session: Session, case: CaseRow) -> list[DecisionRow]:
    return list(
        session.scalars(
            select(DecisionRow).where(
                DecisionRow.case_id == case.id, DecisionRow.episode == case.episode
            )
        )
    )


def record_decision(
    session: Session, *, case: CaseRow, kind: str, scope: str, decision: str, by: str, now: datetime
) -> None:
    """Mark a decision taken (creating its row if no run was ever opened for it)."""
    row = next((r for r in _rows(session, case) if (r.kind, r.scope) == (kind, scope)), None)
    if row is None:
        row = DecisionRow(
            case_id=case.id,
            episode=case.episode,
            kind=kind,
            scope=scope,
            created_at=now,
            settled=True,
        )  # no run to tell
        session.add(row)
    row.status, row.decision, row.decided_by, row.decided_at = "decided", decision, by, now


def sync_decisions(store: Store, *, code: str, now: datetime) -> list[Decision]:
    """Open a row for each decision the case waits on, retire those no longer needed, and
    return the ones whose flow run must be created or told."""
    with store.session() as session:
        case = get_case_row(session, code=code)
        return sync_in(session, case=case, domain=to_domain(case), now=now)[0]


def sync_in(
    session: Session, *, case: CaseRow, domain: Case, now: datetime
) -> tuple[list[Decision], list[Decision]]:
    """`sync_decisions` on a case already loaded in `session`; also returns the decisions
    still waiting on a person."""
    needed: set[tuple[str, str]] = set()
    if domain.state == "awaiting-approval":
        needed.add(("approval", ""))
    if domain.state == "active":
        needed |= {("consent", scope) for scope in domain.waiting_consent}
        if domain.awaiting_amendment_approval:
            needed.add(("amendment", amendment_scope(case.revision)))
        needed |= _work_waiting(domain)
    rows = _rows(session, case)
    have = {(r.kind, r.scope) for r in rows}
    for kind, scope in sorted(needed - have):
        row = DecisionRow(
            case_id=case.id,
            episode=case.episode,
            kind=kind,
            scope=scope,
            status="waiting",
            settled=False,
            created_at=now,
        )
        session.add(row)
        rows.append(row)
    for row in rows:
        if row.status == "waiting" and (row.kind, row.scope) not in needed:
            row.status = "obsolete"  # e.g. consent recorded in advance, or the case ended
    told = [
        _view(case, r)
        for r in rows
        if (r.status == "waiting" and r.flow_run_id is None)
        or (r.status != "waiting" and not r.settled and r.flow_run_id)
    ]
    return told, [_view(case, r) for r in rows if r.status == "waiting"]


def _work_waiting(case: Case) -> set[tuple[str, str]]:
    """The check-ins due and not yet recorded, and the open steps only a person can complete
    (open-ended ones): each is a form in the UI."""
    plan_steps = {s.id: s for s in case.plan.steps}
    waiting: set[tuple[str, str]] = set()
    for run in case.steps.values():
        step = plan_steps.get(run.id)
        if run.state != "open" or step is None:
            continue
        waiting |= {
            ("check-in", check_in_scope(run.id, c.seq))
            for c in run.check_ins
            if c.outcome == "pending"
        }
        if step.open_ended:
            waiting.add(("completion", run.id))
    return waiting


def get_decision(store: Store, *, code: str, kind: str, scope: str) -> Decision | None:
    """The decision's current record, or None."""
    with store.session() as session:
        case = get_case_row(session, code=code)
        row = next((r for r in _rows(session, case) if (r.kind, r.scope) == (kind, scope)), None)
        return None if row is None else _view(case, row)


def waiting(store: Store, *, code: str) -> list[Decision]:
    """The decisions of the case's current episode still waiting on a person."""
    with store.session() as session:
        return waiting_in(session, case=get_case_row(session, code=code))


def waiting_in(session: Session, *, case: CaseRow) -> list[Decision]:
    """`waiting` for a case already loaded in `session`."""
    return [_view(case, r) for r in _rows(session, case) if r.status == "waiting"]


def set_decision_run(
    store: Store,
    *,
    code: str,
    kind: str,
    scope: str,
    flow_run_id: str | None = None,
    settled: bool | None = None,
) -> None:
    """Remember the decision's flow run, or that the run has been told the outcome."""
    with store.session() as session:
        case = get_case_row(session, code=code)
        for row in _rows(session, case):
            if (row.kind, row.scope) == (kind, scope):
                if flow_run_id is not None:
                    row.flow_run_id = flow_run_id
                if settled is not None:
                    row.settled = settled


def set_run_of(
    store: Store,
    *,
    case_id: int,
    decision: Decision,
    flow_run_id: str | None = None,
    settled: bool | None = None,
) -> None:
    """`set_decision_run` for a case whose row id is known: the case row is not read again."""
    values: dict[str, object] = {}
    if flow_run_id is not None:
        values["flow_run_id"] = flow_run_id
    if settled is not None:
        values["settled"] = settled
    with store.session() as session:
        session.execute(
            update(DecisionRow)
            .where(
                DecisionRow.case_id == case_id,
                DecisionRow.episode == decision.episode,
                DecisionRow.kind == decision.kind,
                DecisionRow.scope == decision.scope,
            )
            .values(values)
        )


def count_refusal(store: Store, *, code: str, kind: str, scope: str) -> int:
    """One more refused submission of the decision's form; returns how many there have been
    (each waits under a new suspend key, since a key that fired never waits again)."""
    with store.session() as session:
        case = get_case_row(session, code=code)
        for row in _rows(session, case):
            if (row.kind, row.scope) == (kind, scope):
                row.attempts += 1
                return row.attempts
    return 0


def decision_by_run(store: Store, *, flow_run_id: str) -> Decision | None:
    """The decision whose form is this flow run, or None (not a run rehab opened for one)."""
    with store.session() as session:
        row = session.scalars(
            select(DecisionRow).where(DecisionRow.flow_run_id == flow_run_id).limit(1)
        ).first()
        if row is None:
            return None
        return _view(session.get_one(CaseRow, row.case_id), row)
