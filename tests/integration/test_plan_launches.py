"""A bulk launch's chunk (casework/services/plan_launches.py) on SQLite and PostgreSQL: its new
cases recorded in one transaction exactly as one launch at a time records them, each refusal
only its own outcome, and a failed transaction leaving nothing half-written."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, select

from casework.domain.errors import CaseAlreadyActive, PersonNamed, UnknownStaff
from casework.services import plan_changes, plan_launches
from casework.services.unit_of_work import Changed
from casework.store.db import Store
from casework.store.repository import get_case_row
from casework.store.tables import AuditRow, OutboxRow
from plans.directories import Directories
from plans.model import Plan
from tests.conftest import T0

DUE = T0 + timedelta(minutes=10)  # when the clock may take a case its launcher left


def as_case(plan: Plan, code: str, **changes: Any) -> Plan:
    return plan.model_copy(update={"case": code, **changes})


def launch_all(store: Store, directories: Directories, plans: list[Plan]) -> list[Any]:
    return plan_launches.launch_all(
        store,
        directories,
        plans=plans,
        by=None,
        now=T0,
        approval_required=True,
        followed_up_by=DUE,
    )


def launch_one(store: Store, directories: Directories, plan: Plan) -> Changed:
    """The plan launched on its own, as `launch_all` launches its chunk."""
    return plan_changes.launch(
        store,
        directories,
        plan=plan,
        by=plan.manager,
        now=T0,
        approval_required=True,
        followed_up_by=DUE,
    )


def recorded(store: Store, code: str) -> dict[str, Any]:
    """What a launch leaves of the case, its code written as `<code>`: its row, steps and
    revision, its audit rows and its queued messages."""
    with store.session() as session:
        row = get_case_row(session, code=code)
        audit = session.scalars(
            select(AuditRow).where(AuditRow.case_code == code).order_by(AuditRow.id)
        ).all()
        outbox = session.scalars(
            select(OutboxRow).where(OutboxRow.case_code == code).order_by(OutboxRow.key)
        ).all()
        return {
            "case": (row.state, row.episode, row.revision, row.manager, row.supervisor),
            "times": (row.start, row.wake_at, row.approved_at, row.created_at, row.updated_at),
            "person": store.sealer.open(row.person_sealed, case=code),
            "steps": sorted((s.step_id, s.state, s.next_check_in_at) for s in row.steps),
            "revisions": [(r.revision, r.plan["steps"], r.created_by) for r in row.revisions],
            "audit": [(a.actor, a.action, a.detail) for a in audit],
            "outbox": [
                (o.key.replace(code, "<code>"), o.kind, o.recipient, o.due_at) for o in outbox
            ],
        }


def test_a_chunk_records_each_new_case_as_its_own_launch_would(
    store: Store, directories: Directories, example_plan: Plan
) -> None:
    together = launch_all(
        store, directories, [as_case(example_plan, f"BC-ALL-{n}") for n in (1, 2)]
    )
    for n in (1, 2):
        launch_one(store, directories, as_case(example_plan, f"BC-ONE-{n}"))
    assert [(c.code, c.state, c.wake_at) for c in together] == [
        (f"BC-ALL-{n}", "awaiting-approval", DUE) for n in (1, 2)
    ]
    for n in (1, 2):
        assert recorded(store, f"BC-ALL-{n}") == recorded(store, f"BC-ONE-{n}")
    assert [e.__class__.__name__ for e in together[0].events] == [
        "PlanLaunched",
        "ApprovalRequested",
    ]


def test_each_refusal_is_its_plans_own_outcome_and_the_others_are_launched_in_order(
    store: Store, directories: Directories, example_plan: Plan
) -> None:
    launch_all(store, directories, [as_case(example_plan, "BC-ACTIVE")])
    named = example_plan.steps[0].model_copy(update={"title": "Room for Example Person One"})
    chunk = [
        as_case(example_plan, "BC-NEW-1"),
        as_case(example_plan, "bc-active"),  # that case, in other letters: still active
        as_case(example_plan, "BC-NEW-2", manager="ghost"),  # no such staff member
        as_case(example_plan, "BC-NEW-3", steps=[named, *example_plan.steps[1:]]),
        as_case(example_plan, "BC-NEW-4"),
        as_case(example_plan, "bc-new-4"),  # given twice in the chunk: the second is refused
    ]
    outcomes = launch_all(store, directories, chunk)
    kinds = [type(o) for o in outcomes]
    assert kinds == [
        Changed,
        CaseAlreadyActive,
        UnknownStaff,
        PersonNamed,
        Changed,
        CaseAlreadyActive,
    ]
    assert [outcomes[0].code, outcomes[4].code] == ["BC-NEW-1", "BC-NEW-4"]
    with store.session() as session:
        launched = session.scalars(
            select(AuditRow.case_code).where(AuditRow.action == "launch").order_by(AuditRow.id)
        ).all()
        refused = session.scalars(
            select(AuditRow.case_code).where(AuditRow.action == "refused")
        ).all()
    assert launched == ["BC-ACTIVE", "BC-NEW-1", "BC-NEW-4"]
    assert refused == ["BC-NEW-2"], "the launcher's refusal is audited, as one launch's is"


def test_a_chunks_new_cases_are_recorded_in_one_commit(
    store: Store, directories: Directories, example_plan: Plan
) -> None:
    commits: list[None] = []
    event.listen(store.engine, "commit", lambda _conn: commits.append(None))
    outcomes = launch_all(
        store, directories, [as_case(example_plan, f"BC-C-{n}") for n in range(20)]
    )
    assert all(isinstance(o, Changed) for o in outcomes)
    assert len(commits) == 2, "twenty new cases: one read of their codes, one transaction"
    commits.clear()
    for n in range(20):
        launch_one(store, directories, as_case(example_plan, f"BC-D-{n}"))
    assert len(commits) == 40, "one at a time: a read and a transaction each"


def test_a_failed_chunk_keeps_nothing_and_each_plan_is_then_launched_on_its_own(
    store: Store,
    directories: Directories,
    example_plan: Plan,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    launch_all(store, directories, [as_case(example_plan, "BC-F-REF")])
    queue = plan_launches.queue_notices
    calls = []

    def failing_on_the_third(*args: Any, **kwargs: Any) -> int:
        calls.append(None)
        if len(calls) == 3:
            raise RuntimeError("the database went away")
        return queue(*args, **kwargs)

    monkeypatch.setattr(plan_launches, "queue_notices", failing_on_the_third)
    codes = [f"BC-F-{n}" for n in range(4)]
    outcomes = launch_all(store, directories, [as_case(example_plan, c) for c in codes])
    assert [o.code for o in outcomes] == codes
    assert len(calls) == 3, "the chunk's transaction stopped at its third case"
    for code in codes:  # one launch's rows each: nothing of the failed transaction was kept
        assert recorded(store, code) == recorded(store, "BC-F-REF")
