"""A case manager's day through the door's own pages, as JSON (`Accept: application/json`):
each action allowed or refused by role as security.md says, each an audit row naming her and
her session; notes and the person's data read back only with a reason."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from casework.store.tables import AuditRow
from flows import tending
from flows.app import App
from flows.prefect.fake import RecordingPrefect
from tests.conftest import ROOT, PaperClock
from tests.integration import staff_door
from tests.integration.staff_door import JSON, Desk, Desks

app, desks, signed_in = staff_door.app, staff_door.desks, staff_door.signed_in  # its fixtures

CODE = "BC-DAY-1"


def new_plan(desk: Desk, **fields: str) -> object:
    form = {
        "template": "acute-crisis",
        "case": CODE,
        "manager": desk.staff,
        "partner.medical-check": "brest-clinic",
        "do": "launch",
    }
    return desk.post("/rehab/plans/new", {**form, **fields})


def audit_rows(app: App, action: str) -> list[AuditRow]:
    with app.store.session() as session:
        return list(session.scalars(select(AuditRow).where(AuditRow.action == action)).all())


def launched(desks: Desks) -> None:
    answer = new_plan(desks["n-zdolnik"])
    assert answer.status_code == 200, answer.text  # type: ignore[attr-defined]


def test_a_signed_out_visitor_is_sent_to_sign_in(desks: Desks) -> None:
    client = desks["n-zdolnik"].client
    client.cookies.clear()
    page = client.get("/rehab/day", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/sign-in?next=/rehab/day"
    assert client.get("/rehab/day", headers=JSON).status_code == 401


def test_a_plan_with_a_wrong_field_is_refused_at_that_field_then_launched(
    app: App, desks: Desks
) -> None:
    manager = desks["n-zdolnik"]
    wrong = new_plan(manager, case="x")
    assert wrong.status_code == 422
    assert [i["field"] for i in wrong.json()["issues"]] == ["case"]
    assert "is not a case code" in wrong.json()["issues"][0]["message"]
    form = {"template": "acute-crisis", "case": CODE, "manager": "n-zdolnik", "do": "preview"}
    preview = manager.post("/rehab/plans/new", form)
    assert preview.json()["ok"] and preview.json()["preview"]["events"]
    done = new_plan(manager)
    assert done.status_code == 200, done.text
    assert done.json()["case"] == CODE and done.json()["state"] == "awaiting-approval"
    assert isinstance(app.prefect, RecordingPrefect)
    assert app.prefect.called("start_plan_run") == [CODE]
    (row,) = audit_rows(app, "launch")
    assert row.actor == "n-zdolnik" and row.detail.get("session")


def test_her_day_lists_only_her_cases_and_her_supervisor_sees_the_approval(
    desks: Desks,
) -> None:
    launched(desks)
    supervisor = desks["l-istomova"].get("/rehab/day").json()
    assert [c["case"] for c in supervisor["awaiting_approval"]] == [CODE]
    assert desks["a-kovalchuk"].get("/rehab/day").json()["cases"] == 0
    assert desks["n-zdolnik"].get("/rehab/day").json()["cases"] == 1
    assert desks["d-director"].get("/rehab/day").json()["awaiting_approval"][0]["case"] == CODE


def test_another_manager_may_neither_open_nor_change_her_case(app: App, desks: Desks) -> None:
    launched(desks)
    other = desks["a-kovalchuk"]
    assert other.get(f"/rehab/cases/{CODE}").status_code == 403
    refused = other.post(f"/rehab/cases/{CODE}/note", {"note": "a note"})
    assert refused.status_code == 403
    assert not audit_rows(app, "note")
    assert {r.actor for r in audit_rows(app, "refused")} == {"a-kovalchuk"}


def test_only_its_supervisor_or_a_director_approves(app: App, desks: Desks) -> None:
    launched(desks)
    assert desks["n-zdolnik"].post(f"/rehab/cases/{CODE}/approve", {}).status_code == 403
    assert desks["o-other"].post(f"/rehab/cases/{CODE}/approve", {}).status_code == 403
    approved = desks["l-istomova"].post(f"/rehab/cases/{CODE}/approve", {})
    assert approved.status_code == 200, approved.text
    assert desks["n-zdolnik"].get(f"/rehab/cases/{CODE}").json()["status"]["state"] == "active"


def test_her_consent_and_check_in_are_recorded_as_hers(
    app: App, desks: Desks, paper: PaperClock
) -> None:
    launched(desks)
    desks["d-director"].post(f"/rehab/cases/{CODE}/approve", {})
    manager = desks["n-zdolnik"]
    given = manager.post(f"/rehab/cases/{CODE}/consent", {"scopes": "medical", "status": "given"})
    assert given.status_code == 200, given.text
    case = manager.get(f"/rehab/cases/{CODE}").json()
    assert case["status"]["consents"]["medical"]["status"] == "given"
    step = case["open_steps"][0]
    early = manager.post(f"/rehab/cases/{CODE}/check-in", {"step": step, "outcome": "attended"})
    assert early.status_code == 422 and "none is due yet" in early.json()["detail"]
    paper.at += timedelta(days=7, hours=1)
    tending.tend_case(app, CODE)
    manager.sign_in_again(app)
    checked = manager.post(f"/rehab/cases/{CODE}/check-in", {"step": step, "outcome": "attended"})
    assert checked.status_code == 200, checked.text
    (check_in,) = manager.get(f"/rehab/cases/{CODE}").json()["status"]["steps"][0]["check_ins"]
    assert check_in["outcome"] == "attended" and check_in["recorded_by"] == "n-zdolnik"
    bad = manager.post(f"/rehab/cases/{CODE}/check-in", {"step": step, "outcome": "maybe"})
    assert bad.status_code == 422 and "outcome" in bad.json()["detail"]


def test_a_note_is_read_back_only_with_a_reason_and_the_read_is_audited(
    app: App, desks: Desks
) -> None:
    launched(desks)
    manager = desks["n-zdolnik"]
    text = "She asked that the clinic call in the mornings only."
    assert manager.post(f"/rehab/cases/{CODE}/note", {"note": text}).status_code == 200
    assert manager.post(f"/rehab/cases/{CODE}/notes", {"reason": ""}).status_code == 422
    read = manager.post(f"/rehab/cases/{CODE}/notes", {"reason": "preparing the check-in"})
    assert [n["text"] for n in read.json()["notes"]] == [text]
    (row,) = audit_rows(app, "notes-read")
    assert row.detail["reason"] == "preparing the check-in" and row.detail["session"]
    (written,) = audit_rows(app, "note")
    assert text not in str(written.detail) and written.note_sealed is not None


def test_the_person_is_shown_only_with_a_reason_and_never_cached(app: App, desks: Desks) -> None:
    launched(desks)
    manager = desks["n-zdolnik"]
    stored = manager.post(
        f"/rehab/cases/{CODE}/person", {"name": "Alena Test", "birth_year": "1999"}
    )
    assert stored.status_code == 200, stored.text
    shown = manager.post(f"/rehab/cases/{CODE}/person-show", {"reason": "calling her back"})
    assert shown.json()["person"]["name"] == "Alena Test"
    assert shown.headers["cache-control"] == "no-store"
    page = manager.client.post(
        f"/rehab/cases/{CODE}/person-show", data={"reason": "x", "csrf": manager.csrf()}
    )
    assert "Alena Test" in page.text and page.headers["cache-control"] == "no-store"
    (row, _) = audit_rows(app, "person-read")
    assert row.actor == "n-zdolnik" and row.detail["reason"] == "calling her back"


def test_a_change_without_her_pages_token_or_from_another_site_is_refused(
    app: App, desks: Desks
) -> None:
    launched(desks)
    manager = desks["n-zdolnik"]
    assert manager.post(f"/rehab/cases/{CODE}/note", {"note": "x"}, csrf="").status_code == 403
    other_token = desks["a-kovalchuk"].csrf()
    replayed = manager.post(f"/rehab/cases/{CODE}/note", {"note": "x"}, csrf=other_token)
    assert replayed.status_code == 403
    cross = manager.client.post(
        f"/rehab/cases/{CODE}/note",
        data={"note": "x", "csrf": manager.csrf()},
        headers={**JSON, "origin": "https://evil.example"},
    )
    assert cross.status_code == 403
    assert not audit_rows(app, "note")
    assert len(audit_rows(app, "door-refused")) == 3


def test_she_ends_a_case_for_a_reason_and_a_transfer_names_its_organisation(
    app: App, desks: Desks
) -> None:
    launched(desks)
    manager = desks["n-zdolnik"]
    bad = manager.post(f"/rehab/cases/{CODE}/close", {"reason": "bored"})
    assert bad.status_code == 422 and "moved-away" in bad.json()["detail"]
    no_org = manager.post(f"/rehab/cases/{CODE}/close", {"reason": "transferred"})
    assert no_org.status_code == 422
    assert (
        desks["a-kovalchuk"]
        .post(f"/rehab/cases/{CODE}/close", {"reason": "moved-away"})
        .status_code
        == 403
    )
    closed = manager.post(
        f"/rehab/cases/{CODE}/close", {"reason": "transferred", "to": "Vilnius Shelter Network"}
    )
    assert closed.status_code == 200, closed.text
    status = manager.get(f"/rehab/cases/{CODE}").json()["status"]
    assert status["state"] == "cancelled" and status["ended_reason"] == "transferred"
    assert status["closed_to"] == "Vilnius Shelter Network"
    (row,) = audit_rows(app, "case-closed")
    assert row.actor == "n-zdolnik" and row.detail["session"]


def test_a_plan_sent_back_waits_for_her_amendment_and_then_for_approval_again(
    app: App, desks: Desks
) -> None:
    launched(desks)
    manager, supervisor = desks["n-zdolnik"], desks["l-istomova"]
    comment = "The medical check should come first."
    assert manager.post(f"/rehab/cases/{CODE}/send-back", {"comment": comment}).status_code == 403
    assert supervisor.post(f"/rehab/cases/{CODE}/send-back", {"comment": ""}).status_code == 422
    sent = supervisor.post(f"/rehab/cases/{CODE}/send-back", {"comment": comment})
    assert sent.status_code == 200, sent.text
    case = manager.get(f"/rehab/cases/{CODE}").json()
    assert case["sent_back"]["by"] == "l-istomova" and case["sent_back"]["comment"] == comment
    assert not supervisor.get(f"/rehab/cases/{CODE}").json()["may"]["approve"]
    text = case["plan_text"].replace("due: 2w", "due: 10d")
    shown = manager.post(f"/rehab/cases/{CODE}/amend", {"plan_text": text, "do": "check"})
    assert "+  due: 10d" in shown.json()["change"]
    assert manager.get(f"/rehab/cases/{CODE}").json()["status"]["revision"] == 1
    stored = manager.post(f"/rehab/cases/{CODE}/amend", {"plan_text": text, "do": "store"})
    assert stored.status_code == 200, stored.text
    again = supervisor.get(f"/rehab/cases/{CODE}").json()
    assert again["status"]["revision"] == 2 and again["may"]["approve"]
    assert supervisor.post(f"/rehab/cases/{CODE}/approve", {}).status_code == 200
    assert [r.actor for r in audit_rows(app, "plan-sent-back")] == ["l-istomova"]


def test_a_plan_file_uploaded_is_checked_and_launched_as_hers(app: App, desks: Desks) -> None:
    manager = desks["a-kovalchuk"]
    text = (ROOT / "plans" / "templates" / "acute-crisis.yaml").read_text()
    text = text.replace("CHANGE-ME", "BC-FILE-1").replace("n-zdolnik", "a-kovalchuk")
    broken = text.replace("partner: brest-clinic", "partner: nowhere-clinic")
    refused = manager.client.post(
        "/rehab/plans/new",
        data={"csrf": manager.csrf(), "do": "launch"},
        files={"plan_file": ("plan.yaml", broken.encode(), "application/yaml")},
        headers=JSON,
    )
    assert refused.status_code == 422
    assert [i["field"] for i in refused.json()["issues"]] == ["steps[1].partner"]
    page = manager.client.post(
        "/rehab/plans/new",
        data={"csrf": manager.csrf(), "do": "check"},
        files={"plan_file": ("plan.yaml", broken.encode(), "application/yaml")},
    )
    assert page.status_code == 422 and "unknown partner" in page.text
    assert 'data-field="steps[1].partner"' in page.text or "steps[1].partner" in page.text
    launched = manager.client.post(
        "/rehab/plans/new",
        data={"csrf": manager.csrf(), "do": "launch"},
        files={"plan_file": ("plan.yaml", text.encode(), "application/yaml")},
        headers=JSON,
    )
    assert launched.status_code == 200, launched.text
    assert launched.json()["case"] == "BC-FILE-1"
    (row,) = audit_rows(app, "launch")
    assert row.actor == "a-kovalchuk"


def test_a_manager_may_not_launch_a_plan_in_another_managers_name(desks: Desks) -> None:
    refused = new_plan(desks["a-kovalchuk"], manager="n-zdolnik")
    assert refused.status_code == 403, refused.text
