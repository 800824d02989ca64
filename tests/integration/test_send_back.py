"""A plan awaiting approval sent back to its case manager: only its supervisor (or a director)
may, with a comment that is sealed in the store and read back by the case's staff only; the
case manager is told who sent it back, with a link to the case page and never the comment; the
approval form closes as sent back, and her amendment opens a new one."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from casework.domain.errors import CaseNotInState, NotAllowed
from casework.services import decide, plan_changes, recording
from casework.services.errors import CommentRequired
from casework.services.send_back import send_back, sent_back_comment
from casework.store import decisions, queries
from casework.store.db import Store
from casework.store.tables import AuditRow
from notifications.links import PartnerLinks
from notifications.notifier import RecordingNotifier
from notifications.outbox import Policy, send_due
from plans.directories import Directories, StaffDirectory
from plans.model import Plan
from tests.conftest import T0

S = timedelta(seconds=1)
CODE = "BC-BACK-1"
DOOR = "https://door.example"
COMMENT = "The housing step needs its partner's date; Olesya asked for the shelter in Brest."
STAFF = {
    "cm": ("case-manager", "ru"),
    "cm2": ("case-manager", "en"),
    "sup": ("supervisor", "en"),
    "dir": ("director", "en"),
}


@pytest.fixture
def staffed(directories: Directories) -> Directories:
    members = {
        sid: {"name": sid.upper(), "role": role, "language": lang, "notify": [f"json://{sid}"]}
        for sid, (role, lang) in STAFF.items()
    }
    staff = StaffDirectory.model_validate({"default_supervisor": "sup", "staff": members})
    return Directories(directories.partners, staff)


def plan(title: str = "Shelter") -> Plan:
    step = {"id": "stay", "domain": "housing", "title": title, "partner": "brest-crisis-room"}
    return Plan.model_validate(
        {"case": CODE, "manager": "cm", "supervisor": "sup", "steps": [step]}
    )


def launched(store: Store, dirs: Directories) -> None:
    plan_changes.launch(store, dirs, plan=plan(), by="cm", now=T0, approval_required=True)
    decisions.sync_decisions(store, code=CODE, now=T0)


def sent(store: Store, dirs: Directories, at: object) -> list[tuple[str, str, str]]:
    notifier = RecordingNotifier()
    links = PartnerLinks(DOOR, b"k" * 32)
    send_due(store, dirs, notifier, now=at, policy=Policy(), links=links)  # type: ignore[arg-type]
    return notifier.sent


def test_a_supervisor_sends_a_plan_back_and_its_case_manager_is_told_by_whom_with_a_link(
    store: Store, staffed: Directories
) -> None:
    launched(store, staffed)
    sent(store, staffed, T0)  # the supervisor's approval request
    changed = send_back(store, staffed, code=CODE, comment=COMMENT, by="sup", now=T0 + S)
    assert changed.state == "awaiting-approval"
    status = queries.case_status(store, code=CODE)
    assert status["sent_back"] == {"by": "sup", "at": (T0 + S).isoformat()}
    messages = [m for m in sent(store, staffed, T0 + 2 * S) if m[0] == "json://cm"]
    assert len(messages) == 1
    _, subject, body = messages[0]
    assert CODE in subject and "возвращён" in subject, "in her language (ru)"
    assert "SUP (sup)" in body and f"{DOOR}/rehab/cases/{CODE}" in body
    assert "Olesya" not in body and "housing step" not in body, "the comment stays sealed"
    with store.session() as session:
        row = session.scalars(
            select(AuditRow).where(AuditRow.action == "plan-sent-back", AuditRow.case_code == CODE)
        ).one()
    assert row.actor == "sup" and row.note_sealed is not None
    assert b"Olesya" not in row.note_sealed


def test_the_approval_form_closes_as_sent_back_and_her_amendment_opens_a_new_one(
    store: Store, staffed: Directories
) -> None:
    launched(store, staffed)
    first = decisions.get_decision(store, code=CODE, kind="approval", scope="")
    assert first is not None and first.status == "waiting"
    send_back(store, staffed, code=CODE, comment=COMMENT, by="sup", now=T0 + S)
    closed = decisions.get_decision(store, code=CODE, kind="approval", scope="")
    assert closed is not None and (closed.status, closed.decision) == ("decided", "sent-back")
    assert decisions.sync_decisions(store, code=CODE, now=T0 + S) == [], "no form while amended"
    with pytest.raises(CaseNotInState, match="sent back"):
        recording.approve(store, staffed, code=CODE, by="sup", now=T0 + 2 * S)

    plan_changes.amend(store, staffed, plan=plan("Shelter, dated"), by="cm", now=T0 + 3 * S)
    assert queries.case_status(store, code=CODE)["sent_back"] is None
    opened = decisions.sync_decisions(store, code=CODE, now=T0 + 3 * S)
    assert [(d.kind, d.scope, d.status) for d in opened] == [("approval", "rev-2", "waiting")]
    asked = [m for m in sent(store, staffed, T0 + 4 * S) if m[0] == "json://sup"]
    # Her first request went unsent (withdrawn when the plan was sent back): asked anew.
    assert len(asked) == 1 and f"{DOOR}/rehab/cases/{CODE}" in asked[0][2]
    recording.approve(store, staffed, code=CODE, by="sup", now=T0 + 5 * S)
    approved = decisions.get_decision(store, code=CODE, kind="approval", scope="rev-2")
    assert approved is not None and approved.decision == "approved"
    assert queries.case_status(store, code=CODE)["state"] == "active"


def test_only_the_supervisor_or_a_director_may_send_a_plan_back_and_a_refusal_is_audited(
    store: Store, staffed: Directories
) -> None:
    launched(store, staffed)
    with pytest.raises(NotAllowed):
        send_back(store, staffed, code=CODE, comment=COMMENT, by="cm", now=T0 + S)
    with store.session() as session:
        refused = session.scalars(select(AuditRow).where(AuditRow.action == "refused")).all()
    assert [r.detail["doing"] for r in refused] == ["send the plan back"]
    assert queries.case_status(store, code=CODE)["sent_back"] is None
    send_back(store, staffed, code=CODE, comment=COMMENT, by="dir", now=T0 + S)
    assert queries.case_status(store, code=CODE)["sent_back"]["by"] == "dir"


def test_a_send_back_without_a_comment_is_refused_naming_the_comment(
    store: Store, staffed: Directories
) -> None:
    launched(store, staffed)
    with pytest.raises(CommentRequired, match=r"^comment: .*required"):
        send_back(store, staffed, code=CODE, comment="  \n", by="sup", now=T0 + S)
    assert queries.case_status(store, code=CODE)["sent_back"] is None


def test_the_cases_staff_read_the_comment_back_and_each_read_is_audited(
    store: Store, staffed: Directories
) -> None:
    launched(store, staffed)
    assert sent_back_comment(store, staffed, code=CODE, by="cm", now=T0) is None
    send_back(store, staffed, code=CODE, comment=COMMENT, by="sup", now=T0 + S)
    assert sent_back_comment(store, staffed, code=CODE, by="cm", now=T0 + 2 * S) == COMMENT
    with pytest.raises(NotAllowed):
        sent_back_comment(store, staffed, code=CODE, by="cm2", now=T0 + 3 * S)
    with store.session() as session:
        reads = session.scalars(
            select(AuditRow).where(AuditRow.action == "sent-back-comment-read")
        ).all()
    assert [(r.actor, r.detail["found"]) for r in reads] == [("cm", False), ("cm", True)]


def test_the_approval_form_sent_back_at_the_door_is_recorded_with_its_comment_sealed(
    store: Store, staffed: Directories
) -> None:
    launched(store, staffed)
    values = {"decision": "send-back", "comment": COMMENT}
    with pytest.raises(CommentRequired):
        decide.record(
            store, staffed, code=CODE, kind="approval", scope="",
            values={"decision": "send-back"}, by="sup", now=T0 + S,
        )  # fmt: skip
    decide.record(
        store, staffed, code=CODE, kind="approval", scope="", values=values, by="sup", now=T0 + S
    )
    taken = decisions.get_decision(store, code=CODE, kind="approval", scope="")
    assert taken is not None and (taken.decision, taken.decided_by) == ("sent-back", "sup")
    assert sent_back_comment(store, staffed, code=CODE, by="sup", now=T0 + 2 * S) == COMMENT


def test_the_approval_form_sent_as_it_opens_approves_the_plan(
    store: Store, staffed: Directories
) -> None:
    launched(store, staffed)
    decide.record(
        store, staffed, code=CODE, kind="approval", scope="",
        values={"decision": "approve", "comment": ""}, by="sup", now=T0 + S,
    )  # fmt: skip
    assert queries.case_status(store, code=CODE)["state"] == "active"
