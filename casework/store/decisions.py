"""Decisions that wait on a person (plan approval, consent per scope, a due check-in's outcome,
an open-ended step's completion), tracked in the store so that each has exactly one flow run
and that run is told when the decision is taken."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from casework.domain.case import Case
from casework.domain.decision_kinds import KINDS, needed
from casework.store.case_mapping import to_domain
from casework.store.db import Store
from casework.store.repository import get_case_row
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
    manager: str = ""  # the case's people now (its run's tags)
    supervisor: str = ""

    @property
    def idempotency_key(self) -> str:
        """Names the decision's one flow run, whoever creates it and however often."""
        return f"{self.case}/{self.episode}/{self.kind}/{self.scope or '-'}"

    @property
    def run_name(self) -> str:
        """`<case> · consent · <scope>`, `<case> · check-in · <step> #<n>`, `<case> · approval`."""
        scope = KINDS[self.kind].shown(self.scope) if self.kind in KINDS else self.scope
        return " · ".join(p for p in (self.case, self.kind, scope) if p)


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
        case.manager,
        case.supervisor,
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
    wanted = needed(domain, case.revision)
    rows = _rows(session, case)
    have = {(r.kind, r.scope) for r in rows}
    for kind, scope in sorted(wanted - have):
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
        if row.status == "waiting" and (row.kind, row.scope) not in wanted:
            row.status = "obsolete"  # e.g. consent recorded in advance, or the case ended
    told = [
        _view(case, r)
        for r in rows
        if (r.status == "waiting" and r.flow_run_id is None)
        or (r.status != "waiting" and not r.settled and r.flow_run_id)
    ]
    return told, [_view(case, r) for r in rows if r.status == "waiting"]


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
