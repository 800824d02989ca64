"""`close_case` (casework/services/closing.py): a case ended for a reason by whom its roles
allow, its partners told and its unsent messages withdrawn, as a consent withdrawal does."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from casework.domain.errors import (
    CaseNotInState,
    ClosedToRefused,
    NotAllowed,
    PersonNamed,
    UnknownCloseReason,
    UnknownStaff,
)
from casework.services import engine, plan_changes
from casework.services.closing import close_case
from casework.store import queries
from casework.store.db import Store
from casework.store.tables import AuditRow, OutboxRow
from plans.directories import Directories, StaffDirectory
from plans.model import Plan
from tests.conftest import T0
from tests.integration.test_access import STAFF, opened

S = timedelta(seconds=1)
CODE = "BC-CLOSE-1"


@pytest.fixture
def staffed(directories: Directories) -> Directories:
    """The example partners; staff cm (the case's manager), cm2, sup (its supervisor), sup2,
    dir (a director)."""
    members = {sid: {"name": sid, "role": role, "notify": []} for sid, role in STAFF.items()}
    staff = StaffDirectory.model_validate({"default_supervisor": "sup", "staff": members})
    return Directories(directories.partners, staff)


def reminded(store: Store, dirs: Directories, code: str = CODE, **extra: Any) -> None:
    """An active case: its clinic step open with a reminder queued for its first check-in,
    a legal step waiting to start."""
    steps = [
        {
            "id": "check",
            "domain": "medical",
            "title": "Medical check",
            "partner": "brest-clinic",
            "check_ins": {"every": "1h", "remind": ["10m"]},
        },
        {
            "id": "legal",
            "domain": "legal",
            "title": "Legal aid",
            "partner": "brest-legal-aid",
            "start": "1d",
        },
    ]
    plan = Plan.model_validate(
        {"case": code, "manager": "cm", "supervisor": "sup", "steps": steps, **extra}
    )
    plan_changes.launch(store, dirs, plan=plan, by="cm", now=T0, approval_required=False)
    engine.reconcile(store, code=code, now=T0, directories=dirs)


def close(store: Store, dirs: Directories, reason: str, **kw: Any) -> Any:
    return close_case(
        store,
        dirs,
        code=kw.pop("code", CODE),
        reason=reason,
        to=kw.pop("to", None),
        by=kw.pop("by", "cm"),
        now=T0 + 5 * S,
        **kw,
    )


def audit_rows(store: Store, code: str = CODE) -> list[AuditRow]:
    with store.session() as session:
        return list(session.scalars(select(AuditRow).where(AuditRow.case_code == code)))


@pytest.mark.parametrize(
    ("reason", "state"),
    [
        ("moved-away", "cancelled"),
        ("lost-contact", "cancelled"),
        ("deceased", "cancelled"),
        ("goals-met", "completed"),
    ],
)
def test_each_reason_ends_the_case_and_plan_status_says_why(
    store: Store, staffed: Directories, reason: str, state: str
) -> None:
    reminded(store, staffed)
    assert close(store, staffed, reason).state == state
    # woken once, at once, so its run ends; then never again
    assert engine.reconcile(store, code=CODE, now=T0 + 6 * S).wake_at is None
    status = queries.case_status(store, code=CODE)
    assert status["state"] == state
    assert status["ended_reason"] == reason and status["closed_to"] is None
    assert status["reason"] == f"closed: {reason}"
    assert {s["id"]: s["state"] for s in status["steps"]} == {
        "check": "cancelled",
        "legal": "cancelled",
    }
    [row] = [r for r in audit_rows(store) if r.action == "case-closed"]
    assert row.actor == "cm" and row.detail == {"reason": reason, "to": None}


def test_a_transfer_keeps_the_organisation_in_the_store_only(
    store: Store, staffed: Directories
) -> None:
    reminded(store, staffed)
    close(store, staffed, "transferred", to="Vilnius Shelter Network")
    status = queries.case_status(store, code=CODE)
    assert status["state"] == "cancelled" and status["ended_reason"] == "transferred"
    assert status["closed_to"] == "Vilnius Shelter Network"
    assert "Vilnius" not in status["reason"]  # the reason reaches Prefect's state message
    [row] = [r for r in audit_rows(store) if r.action == "case-closed"]
    assert row.detail == {"reason": "transferred", "to": "(sealed)"}  # a purge destroys it
    assert row.note_sealed is not None
    assert (
        store.sealer.open(row.note_sealed, case=CODE) == "transferred to: Vilnius Shelter Network"
    )


def test_partners_of_open_steps_are_told_and_unsent_messages_withdrawn(
    store: Store, staffed: Directories
) -> None:
    reminded(store, staffed)
    with store.session() as session:  # as the sender leaves it: the clinic was referred
        for row in session.scalars(select(OutboxRow).where(OutboxRow.kind == "referral")):
            row.status = "sent"
    close(store, staffed, "moved-away")
    with store.session() as session:
        rows = {(r.kind, r.recipient): r.status for r in session.scalars(select(OutboxRow))}
    assert rows[("reminder", "partner:brest-clinic")] == "withdrawn"
    assert rows[("step-cancelled", "partner:brest-clinic")] == "pending"
    assert ("step-cancelled", "partner:brest-legal-aid") not in rows  # never referred
    assert rows[("plan-ended", "staff:cm")] == "pending"
    assert rows[("plan-ended", "staff:sup")] == "pending"


@pytest.mark.parametrize("who", ["cm", "sup", "dir"])
def test_its_manager_its_supervisor_or_a_director_may_close_it(
    store: Store, staffed: Directories, who: str
) -> None:
    opened(store, staffed, CODE)
    assert close(store, staffed, "lost-contact", by=who).state == "cancelled"


@pytest.mark.parametrize(("who", "error"), [("cm2", NotAllowed), ("ghost", UnknownStaff)])
def test_anyone_else_is_refused_and_the_refusal_audited(
    store: Store, staffed: Directories, who: str, error: type[Exception]
) -> None:
    opened(store, staffed, CODE)
    with pytest.raises(error):
        close(store, staffed, "lost-contact", by=who)
    assert queries.case_status(store, code=CODE)["state"] == "active"
    [row] = [r for r in audit_rows(store) if r.action == "refused"]
    assert row.actor == who and row.detail["doing"] == "close the case"


def test_an_unknown_reason_is_refused_naming_the_valid_ones(
    store: Store, staffed: Directories
) -> None:
    opened(store, staffed, CODE)
    with pytest.raises(UnknownCloseReason) as refused:
        close(store, staffed, "bored")
    assert "moved-away, lost-contact, transferred, deceased, goals-met" in str(refused.value)
    assert queries.case_status(store, code=CODE)["state"] == "active"


@pytest.mark.parametrize(
    ("reason", "to"),
    [("transferred", None), ("deceased", "Brest Hospice"), ("transferred", "x" * 121)],
)
def test_to_is_needed_for_a_transfer_and_refused_for_any_other_reason(
    store: Store, staffed: Directories, reason: str, to: str | None
) -> None:
    opened(store, staffed, CODE)
    with pytest.raises(ClosedToRefused):
        close(store, staffed, reason, to=to)
    assert queries.case_status(store, code=CODE)["state"] == "active"


def test_an_organisation_naming_the_person_is_refused_and_audited(
    store: Store, staffed: Directories
) -> None:
    person = {"name": "Olesya Privatnaya", "contact": "+375 29 765 43 21"}
    reminded(store, staffed, person=person)
    with pytest.raises(PersonNamed, match="--to of case BC-CLOSE-1 names the person"):
        close(store, staffed, "transferred", to="Olesya's aunt's place")
    assert queries.case_status(store, code=CODE)["state"] == "active"
    [row] = [r for r in audit_rows(store) if r.action == "refused"]
    assert row.detail == {"doing": "close the case", "why": "to-names-person"}


def test_a_case_already_ended_is_refused_naming_it(store: Store, staffed: Directories) -> None:
    opened(store, staffed, CODE)
    close(store, staffed, "deceased")
    with pytest.raises(CaseNotInState, match=f"case {CODE} is cancelled: cannot close it"):
        close(store, staffed, "moved-away", code=CODE.lower())
