"""Roles decide, in the services, so the CLI and the UI cannot differ (security.md rule 3): per
command, who may and who may not, on SQLite and PostgreSQL. A refusal changes nothing and is
in the audit log."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from casework.domain.access import deciders
from casework.domain.errors import NotAllowed, UnknownStaff
from casework.services import closing, engine, plan_changes, recording
from casework.store import queries
from casework.store.db import Store
from casework.store.tables import AuditRow, OutboxRow
from plans.directories import Directories, StaffDirectory
from plans.model import Plan
from tests.conftest import T0

S = timedelta(seconds=1)
STAFF = {
    "cm": "case-manager",  # the case's manager
    "cm2": "case-manager",  # another case manager
    "sup": "supervisor",  # the case's supervisor
    "sup2": "supervisor",  # another supervisor
    "dir": "director",
}
EVERYONE = (*STAFF, "ghost")  # ghost: in no directory


@pytest.fixture
def staffed(directories: Directories) -> Directories:
    members = {sid: {"name": sid, "role": role, "notify": []} for sid, role in STAFF.items()}
    staff = StaffDirectory.model_validate({"default_supervisor": "sup", "staff": members})
    return Directories(directories.partners, staff)


def plan(code: str, *extra: dict[str, Any]) -> Plan:
    steps = [
        {
            "id": "check",
            "domain": "medical",
            "title": "Medical check",
            "partner": "brest-clinic",
            "consent": ["medical"],
            "check_ins": {"every": "10s"},
        },
        *extra,
    ]
    return Plan.model_validate(
        {"case": code, "manager": "cm", "supervisor": "sup", "rules": ["sobriety"], "steps": steps}
    )


def opened(store: Store, dirs: Directories, code: str) -> None:
    """An active case whose medical step is open with a check-in due."""
    plan_changes.launch(store, dirs, plan=plan(code), by="cm", now=T0, approval_required=False)
    recording.record_consent(
        store, dirs, code=code, scopes=["medical"], status="given", by="cm", now=T0
    )
    engine.reconcile(store, code=code, now=T0 + 10 * S)


Setup = Callable[[Store, Directories, str], None]
Act = Callable[[Store, Directories, str, str], object]


def launched(store: Store, dirs: Directories, code: str) -> None:
    plan_changes.launch(store, dirs, plan=plan(code), by="cm", now=T0, approval_required=False)


def awaiting(store: Store, dirs: Directories, code: str) -> None:
    plan_changes.launch(store, dirs, plan=plan(code), by="cm", now=T0, approval_required=True)


def amended(store: Store, dirs: Directories, code: str) -> None:
    opened(store, dirs, code)
    added = {"id": "legal", "domain": "legal", "title": "Legal aid", "partner": "brest-legal-aid"}
    plan_changes.amend(store, dirs, plan=plan(code, added), by="cm", now=T0 + 11 * S)


def nothing(store: Store, dirs: Directories, code: str) -> None:
    pass


def approve(store: Store, dirs: Directories, code: str, by: str) -> object:
    return recording.approve(store, dirs, code=code, by=by, now=T0 + 12 * S)


def launch(store: Store, dirs: Directories, code: str, by: str) -> object:
    return plan_changes.launch(store, dirs, plan=plan(code), by=by, now=T0, approval_required=False)


def consent(store: Store, dirs: Directories, code: str, by: str) -> object:
    return recording.record_consent(
        store, dirs, code=code, scopes=["medical"], status="given", by=by, now=T0 + S
    )


def withdraw(store: Store, dirs: Directories, code: str, by: str) -> object:
    return recording.withdraw_all(store, dirs, code=code, by=by, now=T0 + 11 * S)


def check_in(store: Store, dirs: Directories, code: str, by: str) -> object:
    return recording.record_check_in(
        store, dirs, code=code, step="check", outcome="attended", by=by, now=T0 + 11 * S
    )


def complete(store: Store, dirs: Directories, code: str, by: str) -> object:
    return recording.complete_step(store, dirs, code=code, step="check", by=by, now=T0 + 11 * S)


def breach(store: Store, dirs: Directories, code: str, by: str) -> object:
    return recording.breach(store, dirs, code=code, rule="sobriety", by=by, now=T0 + 11 * S)


def close(store: Store, dirs: Directories, code: str, by: str) -> object:
    return closing.close_case(
        store, dirs, code=code, reason="moved-away", to=None, by=by, now=T0 + 11 * S
    )


def amend(store: Store, dirs: Directories, code: str, by: str) -> object:
    return plan_changes.amend(store, dirs, plan=plan(code), by=by, now=T0 + 11 * S)


ACT = {"cm", "sup", "dir"}  # the case's manager or supervisor, or a director
APPROVE = {"sup", "dir"}  # the case's supervisor, or a director
TABLE: list[tuple[str, Setup, Act, set[str]]] = [
    ("launch", nothing, launch, ACT),
    ("consent record", launched, consent, ACT),
    ("consent withdraw --all", opened, withdraw, ACT),
    ("checkin record", opened, check_in, ACT),
    ("step complete", opened, complete, ACT),
    ("rule breach", opened, breach, ACT),
    ("case close", opened, close, ACT),
    ("plan amend", opened, amend, ACT),
    ("plan approve (the plan)", awaiting, approve, APPROVE),
    ("plan approve (an amendment)", amended, approve, APPROVE),
]


@pytest.mark.parametrize(
    ("setup", "act", "allowed"), [t[1:] for t in TABLE], ids=[t[0] for t in TABLE]
)
def test_who_may_and_who_may_not(
    store: Store, staffed: Directories, setup: Setup, act: Act, allowed: set[str]
) -> None:
    for n, who in enumerate(EVERYONE):
        code = f"BC-ROLE-{n}"
        setup(store, staffed, code)
        if who in allowed:
            act(store, staffed, code, who)
            continue
        before = _snapshot(store, code)
        with pytest.raises(UnknownStaff if who == "ghost" else NotAllowed) as refused:
            act(store, staffed, code, who)
        assert refused.value.staff == who
        assert _snapshot(store, code) == before, f"{who}: nothing changed"
        with store.session() as session:
            [row] = session.scalars(
                select(AuditRow).where(AuditRow.case_code == code, AuditRow.action == "refused")
            ).all()
        assert row.actor == who and row.detail["why"] in ("not-allowed", "unknown-staff")


def _snapshot(store: Store, code: str) -> object:
    try:
        status = queries.case_status(store, code=code)
    except Exception:  # not launched: nothing to compare but its absence
        return None
    return {k: v for k, v in status.items() if k != "wake_at"}


def test_a_refusal_names_who_may(store: Store, staffed: Directories) -> None:
    opened(store, staffed, "BC-ROLE-X")
    with pytest.raises(NotAllowed) as refused:
        check_in(store, staffed, "BC-ROLE-X", "cm2")
    assert str(refused.value) == (
        "'cm2' may not record a check-in on case BC-ROLE-X: its case manager (cm), its "
        "supervisor (sup) or a director may"
    )


def test_a_relaunch_is_judged_by_the_cases_own_roles_not_the_files(
    store: Store, staffed: Directories
) -> None:
    opened(store, staffed, "BC-TAKE-1")
    recording.breach(store, staffed, code="BC-TAKE-1", rule="sobriety", by="cm", now=T0 + 11 * S)
    mine = plan("BC-TAKE-1").model_copy(update={"supervisor": "sup2"})
    with pytest.raises(NotAllowed, match="relaunch the case with another manager or supervisor"):
        plan_changes.launch(
            store, staffed, plan=mine, by="sup2", now=T0 + 12 * S, approval_required=False
        )
    assert queries.case_status(store, code="BC-TAKE-1")["state"] == "terminated"


def test_only_the_supervisor_changes_who_supervises_a_case(
    store: Store, staffed: Directories
) -> None:
    opened(store, staffed, "BC-SUP-1")
    other = plan("BC-SUP-1").model_copy(update={"supervisor": "sup2"})
    with pytest.raises(NotAllowed, match="change who manages or supervises the case"):
        plan_changes.amend(store, staffed, plan=other, by="cm", now=T0 + 11 * S)
    plan_changes.amend(store, staffed, plan=other, by="sup", now=T0 + 12 * S)
    assert queries.case_status(store, code="BC-SUP-1")["supervisor"] == "sup2"


# --- the directory as it is now (a stored supervisor counts only while her role allows it) ---


def redrawn(staffed: Directories, *, default: str | None, **roles: str) -> Directories:
    """The same staff with some roles changed, as the operator edits the directory."""
    members = {
        sid: {"name": sid, "role": roles.get(sid, role), "notify": []}
        for sid, role in STAFF.items()
    }
    staff = StaffDirectory.model_validate({"default_supervisor": default, "staff": members})
    return Directories(staffed.partners, staff)


def test_a_supervisor_demoted_to_case_manager_no_longer_approves_and_the_default_supervisor_does(
    store: Store, staffed: Directories
) -> None:
    awaiting(store, staffed, "BC-DEMOTE-1")
    now = redrawn(staffed, default="sup2", sup="case-manager")
    with pytest.raises(NotAllowed) as refused:
        approve(store, now, "BC-DEMOTE-1", "sup")
    assert str(refused.value) == (
        "'sup' may not approve the plan on case BC-DEMOTE-1: its supervisor (sup2) or a "
        "director may"
    )
    assert queries.case_status(store, code="BC-DEMOTE-1")["state"] == "awaiting-approval"
    approve(store, now, "BC-DEMOTE-1", "sup2")
    assert queries.case_status(store, code="BC-DEMOTE-1")["state"] == "active"


def test_with_no_default_supervisor_a_demoted_supervisors_case_is_approved_by_directors_only(
    store: Store, staffed: Directories
) -> None:
    awaiting(store, staffed, "BC-DEMOTE-2")
    now = redrawn(staffed, default=None, sup="case-manager")
    for who in ("sup", "sup2"):
        with pytest.raises(NotAllowed, match=r": a director may$"):
            approve(store, now, "BC-DEMOTE-2", who)
    approve(store, now, "BC-DEMOTE-2", "dir")
    assert queries.case_status(store, code="BC-DEMOTE-2")["state"] == "active"


def test_a_demoted_supervisor_can_no_longer_act_on_the_case_she_supervised(
    store: Store, staffed: Directories
) -> None:
    launched(store, staffed, "BC-DEMOTE-3")
    now = redrawn(staffed, default="sup2", sup="case-manager")
    with pytest.raises(NotAllowed):
        consent(store, now, "BC-DEMOTE-3", "sup")
    consent(store, now, "BC-DEMOTE-3", "sup2")


def test_a_director_demoted_to_supervisor_no_longer_approves_cases_she_does_not_supervise(
    store: Store, staffed: Directories
) -> None:
    awaiting(store, staffed, "BC-DEMOTE-4")
    with pytest.raises(NotAllowed):
        approve(store, redrawn(staffed, default="sup", dir="supervisor"), "BC-DEMOTE-4", "dir")


def test_the_forms_lists_follow_the_directory_as_it_is_now(staffed: Directories) -> None:
    case = {"manager": "cm", "supervisor": "sup"}
    assert deciders(staffed, power="approve", **case) == ["sup", "dir"]
    demoted = redrawn(staffed, default="sup2", sup="case-manager")
    assert deciders(demoted, power="approve", **case) == ["sup2", "dir"]
    assert deciders(demoted, power="act", **case) == ["cm", "sup2", "dir"]
    alone = redrawn(staffed, default=None, sup="case-manager")
    assert deciders(alone, power="approve", **case) == ["dir"]


def test_the_supervisors_messages_go_to_whoever_supervises_the_case_now(
    store: Store, staffed: Directories
) -> None:
    opened(store, staffed, "BC-DEMOTE-5")
    now = redrawn(staffed, default="sup2", sup="case-manager")
    breach(store, now, "BC-DEMOTE-5", "cm")
    with store.session() as session:
        told = session.scalars(
            select(OutboxRow.recipient).where(
                OutboxRow.case_code == "BC-DEMOTE-5", OutboxRow.kind == "plan-ended"
            )
        ).all()
    assert sorted(told) == ["staff:cm", "staff:sup2"]


def test_the_engines_escalations_go_to_whoever_supervises_the_case_now(
    store: Store, staffed: Directories
) -> None:
    due = {
        "id": "job",
        "domain": "employment",
        "title": "Job",
        "partner": "brest-employment-centre",
    }
    plan_changes.launch(
        store,
        staffed,
        plan=plan("BC-DEMOTE-6", {**due, "due": "5s"}),
        by="cm",
        now=T0,
        approval_required=False,
    )
    now = redrawn(staffed, default="sup2", sup="case-manager")
    for seconds in (6, 60, 3600, 7 * 86400 + 60):  # overdue, then escalated
        engine.reconcile(store, code="BC-DEMOTE-6", now=T0 + seconds * S, directories=now)
    with store.session() as session:
        told = session.scalars(
            select(OutboxRow.recipient).where(
                OutboxRow.case_code == "BC-DEMOTE-6", OutboxRow.kind == "overdue-escalated"
            )
        ).all()
    assert told == ["staff:sup2"]
