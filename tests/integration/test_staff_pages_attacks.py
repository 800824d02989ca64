"""The staff's pages attacked as security.md's rules say they must hold: another person's
case, a role changed mid-session, a forged or replayed form, another site's page, a path or
a template name that walks out, a huge upload, markup typed into a page, personal data in a
URL or a JSON answer, a purged or ended case, and what a day page shows. Each test asserts
the safe answer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, select
from starlette.testclient import TestClient

from casework.services import purge
from casework.store.audit_verify import verify
from casework.store.tables import AuditRow
from flows.app import App
from tests.integration import staff_door
from tests.integration.staff_door import DOOR, JSON, STAFF, Desk, Desks

app, desks = staff_door.app, staff_door.desks  # the fixtures, for this module's tests

CODE, OTHER = "BC-ATK-1", "BC-ATK-2"
NAME = "Alena Test"
ACTIONS = {
    "consent": {"scopes": "medical", "status": "given"},
    "check-in": {"step": "rehab-centre", "outcome": "attended"},
    "complete": {"step": "medical-check"},
    "amend": {"plan_text": "", "do": "check"},
    "note": {"note": "a note"},
    "notes": {"reason": "preparing the check-in"},
    "person": {"name": "Someone Else"},
    "person-show": {"reason": "calling her back"},
    "approve": {},
    "send-back": {"comment": "again"},
    "close": {"reason": "moved-away"},
}


def launch(desk: Desk, code: str = CODE, **fields: str) -> Any:
    form = {"template": "acute-crisis", "case": code, "manager": desk.staff, "do": "launch"}
    answer = desk.post("/rehab/plans/new", {**form, **fields})
    return answer


def launched(desks: Desks, code: str = CODE, manager: str = "n-zdolnik") -> None:
    answer = launch(desks[manager], code)
    assert answer.status_code == 200, answer.text


def active(desks: Desks, code: str = CODE, manager: str = "n-zdolnik") -> None:
    launched(desks, code, manager)
    approved = desks["d-director"].post(f"/rehab/cases/{code}/approve", {})
    assert approved.status_code == 200, approved.text


def rows(app: App, action: str, code: str | None = None) -> list[AuditRow]:
    query = select(AuditRow).where(AuditRow.action == action)
    if code is not None:
        query = query.where(AuditRow.case_code == code)
    with app.store.session() as session:
        return list(session.scalars(query).all())


def audit_count(app: App) -> int:
    with app.store.session() as session:
        return int(session.scalar(select(func.count(AuditRow.id))) or 0)


def with_person(desks: Desks, code: str = CODE) -> None:
    stored = desks["n-zdolnik"].post(
        f"/rehab/cases/{code}/person", {"name": NAME, "contact": "+375 29 555 01 02"}
    )
    assert stored.status_code == 200, stored.text


def directory_changed(app: App, tmp_path: Path, staff: dict[str, Any]) -> None:
    (tmp_path / "staff.yaml").write_text(yaml.safe_dump(staff))
    app.directories  # noqa: B018  # read again now, as the next request would


# -- rule 3: her cases only, for every action ------------------------------------------------


def test_another_managers_case_is_refused_for_every_read_and_every_change(
    app: App, desks: Desks
) -> None:
    active(desks)
    with_person(desks)
    desks["n-zdolnik"].post(f"/rehab/cases/{CODE}/note", {"note": "mornings only"})
    for stranger in ("a-kovalchuk", "o-other"):
        desk = desks[stranger]
        page = desk.get(f"/rehab/cases/{CODE}")
        assert page.status_code == 403 and set(page.json()) == {"detail"}
        html = desk.client.get(f"/rehab/cases/{CODE}")
        assert html.status_code == 403 and "rehab-centre" not in html.text
        for action, fields in ACTIONS.items():
            answer = desk.post(f"/rehab/cases/{CODE}/{action}", fields)
            assert answer.status_code == 403, (stranger, action, answer.text)
            assert NAME not in answer.text and "mornings only" not in answer.text
            assert "rehab-centre" not in answer.text, (stranger, action)
    for action in ("note", "notes-read", "person", "person-read", "consent", "case-closed"):
        assert {r.actor for r in rows(app, action)} <= {"n-zdolnik", "d-director"}, action
    status = desks["n-zdolnik"].get(f"/rehab/cases/{CODE}").json()["status"]
    assert status["state"] == "active" and status["revision"] == 1


def test_a_case_code_in_another_cases_path_changes_neither_case(app: App, desks: Desks) -> None:
    launched(desks, CODE, "n-zdolnik")
    launched(desks, OTHER, "a-kovalchuk")
    mine = desks["n-zdolnik"]
    theirs = desks["a-kovalchuk"].get(f"/rehab/cases/{OTHER}").json()["plan_text"]
    for do in ("check", "store"):
        answer = mine.post(f"/rehab/cases/{CODE}/amend", {"plan_text": theirs, "do": do})
        assert answer.status_code in (403, 422), answer.text
        assert "a-kovalchuk" not in answer.json().get("change", [])
    assert not rows(app, "amend")
    relaunch = launch(mine, OTHER)
    assert relaunch.status_code in (403, 409, 422), relaunch.text
    assert desks["a-kovalchuk"].get(f"/rehab/cases/{OTHER}").json()["status"]["manager"] == (
        "a-kovalchuk"
    )


def test_a_manager_cannot_hand_her_case_to_another_by_amending_it(app: App, desks: Desks) -> None:
    launched(desks)
    mine = desks["n-zdolnik"]
    text = mine.get(f"/rehab/cases/{CODE}").json()["plan_text"]
    handed = text.replace("manager: n-zdolnik", "manager: a-kovalchuk")
    stored = mine.post(f"/rehab/cases/{CODE}/amend", {"plan_text": handed, "do": "store"})
    assert stored.status_code == 403, stored.text
    assert mine.get(f"/rehab/cases/{CODE}").json()["status"]["manager"] == "n-zdolnik"


def test_a_by_field_in_the_form_never_changes_who_acts(app: App, desks: Desks) -> None:
    launched(desks)
    manager = desks["n-zdolnik"]
    note = manager.post(f"/rehab/cases/{CODE}/note", {"note": "x", "by": "l-istomova"})
    assert note.status_code == 200
    assert [r.actor for r in rows(app, "note")] == ["n-zdolnik"]
    approve = manager.post(f"/rehab/cases/{CODE}/approve", {"by": "l-istomova"})
    assert approve.status_code == 403
    assert not rows(app, "approve")


# -- rule 1 and 3: a role changed or removed ends her session at once -----------------------


def test_a_demoted_supervisor_can_no_longer_approve_with_her_open_page(
    app: App, desks: Desks, tmp_path: Path
) -> None:
    launched(desks)
    supervisor = desks["l-istomova"]
    token = supervisor.csrf()
    staff = {**STAFF, "default_supervisor": "o-other", "staff": {**STAFF["staff"]}}
    staff["staff"]["l-istomova"] = {**staff["staff"]["l-istomova"], "role": "case-manager"}
    directory_changed(app, tmp_path, staff)
    answer = supervisor.post(f"/rehab/cases/{CODE}/approve", {}, csrf=token)
    assert answer.status_code == 401
    assert supervisor.get(f"/rehab/cases/{CODE}").status_code == 401
    assert not rows(app, "approve")
    assert [r.detail["why"] for r in rows(app, "session-ended")] == ["role-changed"]


def test_a_manager_removed_from_the_directory_can_neither_read_nor_write(
    app: App, desks: Desks, tmp_path: Path
) -> None:
    launched(desks)
    manager = desks["n-zdolnik"]
    token = manager.csrf()
    staff = {**STAFF, "staff": {k: v for k, v in STAFF["staff"].items() if k != "n-zdolnik"}}
    directory_changed(app, tmp_path, staff)
    assert manager.post(f"/rehab/cases/{CODE}/note", {"note": "x"}, csrf=token).status_code == 401
    assert manager.get("/rehab/day").status_code == 401
    assert manager.client.get("/rehab/day", follow_redirects=False).status_code == 303
    assert not rows(app, "note")


# -- rule 1: a form from her own page, and only hers ---------------------------------------


def test_a_token_from_her_earlier_session_is_refused_after_she_signs_in_again(
    app: App, desks: Desks
) -> None:
    launched(desks)
    manager = desks["n-zdolnik"]
    old = manager.csrf()
    manager.sign_in_again(app)
    answer = manager.post(f"/rehab/cases/{CODE}/note", {"note": "x"}, csrf=old)
    assert answer.status_code == 403
    assert manager.post(f"/rehab/cases/{CODE}/note", {"note": "x"}).status_code == 200
    (refused,) = rows(app, "door-refused")
    assert refused.actor == "n-zdolnik" and refused.detail["session"]


def test_a_json_body_needs_the_token_too_and_works_with_it_in_a_header(
    app: App, desks: Desks
) -> None:
    launched(desks)
    manager = desks["n-zdolnik"]
    path = f"/rehab/cases/{CODE}/note"
    bare = manager.client.post(path, json={"note": "x"}, headers=JSON)
    assert bare.status_code == 403
    wrong = manager.client.post(path, json={"note": "x", "csrf": "0" * 64}, headers=JSON)
    assert wrong.status_code == 403
    not_object = manager.client.post(path, json=["note"], headers=JSON)
    assert not_object.status_code == 400
    good = manager.client.post(
        path, json={"note": "x"}, headers={**JSON, "x-csrf-token": manager.csrf()}
    )
    assert good.status_code == 200, good.text
    assert [r.actor for r in rows(app, "note")] == ["n-zdolnik"]


def test_a_change_from_another_origin_is_refused_however_it_is_sent(app: App, desks: Desks) -> None:
    manager = desks["n-zdolnik"]
    token = manager.csrf()
    form = {"template": "acute-crisis", "case": CODE, "manager": "n-zdolnik", "do": "launch"}
    for origin in ("https://evil.example", "null", "http://door.example", DOOR + ":8443"):
        for body in ({"data": {**form, "csrf": token}}, {"json": {**form, "csrf": token}}):
            answer = manager.client.post(
                "/rehab/plans/new", headers={**JSON, "origin": origin}, **body
            )
            assert answer.status_code == 403, (origin, answer.text)
    assert not rows(app, "launch")
    assert len(rows(app, "door-refused")) == 8


def test_a_missing_origin_with_her_token_is_hers_and_audited_with_her_session(
    app: App, desks: Desks
) -> None:
    manager = desks["n-zdolnik"]
    answer = launch(manager)  # TestClient sends no Origin: a same-origin form or a script
    assert answer.status_code == 200, answer.text
    (row,) = rows(app, "launch")
    assert row.actor == "n-zdolnik" and row.detail["session"]


# -- rule 13 and 1: a template name that walks out, an upload too big -----------------------


def test_a_template_name_that_walks_out_of_the_templates_is_no_template(
    app: App, desks: Desks, tmp_path: Path
) -> None:
    manager = desks["n-zdolnik"]
    (tmp_path / "secret.yaml").write_text("steps: [{id: leaked, title: Leaked title}]\n")
    walk = f"{'../' * 12}{tmp_path.relative_to('/')}/secret"
    for name in ("../staff", walk, str(tmp_path / "secret"), "acute-crisis/../../x"):
        page = manager.get("/rehab/plans/new", params={"template": name})
        assert page.status_code == 200 and page.json()["form"]["steps"] == []
        assert "Leaked" not in page.text
        answer = launch(manager, template=name)
        assert answer.status_code == 422, (name, answer.text)
        assert "Leaked" not in answer.text and "leaked" not in answer.text
    assert not rows(app, "launch")


def test_an_upload_too_big_for_a_plan_is_refused_in_one_line(app: App, desks: Desks) -> None:
    manager = desks["n-zdolnik"]
    for size, named in ((50_000, "plan_file"), (300_000, "bytes")):  # x10: 0.5 MB and 3 MB
        answer = manager.client.post(
            "/rehab/plans/new",
            data={"csrf": manager.csrf(), "do": "launch"},
            files={"plan_file": ("plan.yaml", b"# padding\n" * size, "application/yaml")},
            headers=JSON,
        )
        assert answer.status_code == 413, answer.text[:200]
        assert named in answer.json()["detail"] and "\n" not in answer.json()["detail"]
        assert answer.headers["cache-control"] == "no-store"
    assert not rows(app, "launch")


def test_a_field_or_a_json_body_too_big_is_refused_in_one_line(app: App, desks: Desks) -> None:
    launched(desks)
    manager = desks["n-zdolnik"]
    path = f"/rehab/cases/{CODE}/note"
    big = "x" * 300_000
    form = manager.post(path, {"note": big})
    body = manager.client.post(
        path, json={"note": big}, headers={**JSON, "x-csrf-token": manager.csrf()}
    )
    for answer in (form, body):
        assert answer.status_code in (400, 413, 422), answer.text[:200]
        assert answer.headers["cache-control"] == "no-store"
        assert "\n" not in answer.json()["detail"]
    assert not rows(app, "note")


# -- rule 11: what anyone typed is shown back as text, never markup --------------------------

SCRIPT = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def test_markup_in_a_note_a_comment_or_an_organisation_is_shown_as_text(
    app: App, desks: Desks
) -> None:
    launched(desks)
    manager, supervisor = desks["n-zdolnik"], desks["l-istomova"]
    assert manager.post(f"/rehab/cases/{CODE}/note", {"note": SCRIPT}).status_code == 200
    assert supervisor.post(f"/rehab/cases/{CODE}/send-back", {"comment": SCRIPT}).status_code == 200
    read = manager.client.post(
        f"/rehab/cases/{CODE}/notes", data={"reason": "check", "csrf": manager.csrf()}
    )
    page = manager.client.get(f"/rehab/cases/{CODE}")
    closed = manager.post(f"/rehab/cases/{CODE}/close", {"reason": "transferred", "to": SCRIPT})
    assert closed.status_code == 200, closed.text
    ended = manager.client.get(f"/rehab/cases/{CODE}")
    for html in (read, page, ended):
        assert "<script>" not in html.text and "<img src=x" not in html.text
        assert "&lt;script&gt;" in html.text
        assert "script-src" not in html.headers["content-security-policy"]
        assert html.headers["content-type"].startswith("text/html")


def test_markup_in_a_plan_title_is_refused_or_shown_as_text(app: App, desks: Desks) -> None:
    manager = desks["n-zdolnik"]
    text = (Path(__file__).parents[2] / "plans" / "templates" / "acute-crisis.yaml").read_text()
    text = text.replace("CHANGE-ME", CODE).replace("Medical check-up", SCRIPT.replace('"', "'"))
    for do in ("preview", "launch"):
        answer = manager.client.post(
            "/rehab/plans/new", data={"csrf": manager.csrf(), "do": do, "plan_text": text}
        )
        assert "<script>" not in answer.text and "<img src=x" not in answer.text
    if rows(app, "launch"):
        assert "<script>" not in manager.client.get(f"/rehab/cases/{CODE}").text


# -- rule 7: personal data never in a URL, a JSON answer it was not asked for, or a refusal --


def test_personal_data_or_a_reason_in_a_url_is_never_taken_nor_sent_back_in_one(
    app: App, desks: Desks
) -> None:
    launched(desks)
    with_person(desks)
    manager = desks["n-zdolnik"]
    query = "?reason=calling+her+back&name=Other+Name"
    assert manager.get(f"/rehab/cases/{CODE}/person-show{query}").status_code in (404, 405)
    by_url = manager.post(f"/rehab/cases/{CODE}/person-show{query}", {})
    assert by_url.status_code == 422 and NAME not in by_url.text
    notes = manager.post(f"/rehab/cases/{CODE}/notes{query}", {})
    assert notes.status_code == 422 and "notes" not in notes.json()
    assert not rows(app, "person-read") and not rows(app, "notes-read")
    stored = manager.client.post(
        f"/rehab/cases/{CODE}/person",
        data={"name": NAME, "csrf": manager.csrf()},
        follow_redirects=False,
    )
    assert stored.status_code == 303
    assert "Alena" not in stored.headers["location"] and "?" in stored.headers["location"]
    page = manager.client.get(f"/rehab/cases/{CODE}")
    for form in page.text.split("<form")[1:]:
        assert 'method="post"' in form.split(">")[0] or "/rehab/plans/new" in form


def test_no_json_answer_carries_the_person_or_the_notes_unless_read_with_a_reason(
    app: App, desks: Desks
) -> None:
    text = (Path(__file__).parents[2] / "plans" / "templates" / "acute-crisis.yaml").read_text()
    text = text.replace("CHANGE-ME", CODE) + f"person:\n  name: {NAME}\n"
    manager = desks["n-zdolnik"]
    launched_answer = manager.post("/rehab/plans/new", {"plan_text": text, "do": "launch"})
    assert launched_answer.status_code == 200, launched_answer.text
    assert NAME not in str(launched_answer.json().get("state"))
    manager.post(f"/rehab/cases/{CODE}/note", {"note": "mornings only"})
    for desk in ("n-zdolnik", "l-istomova", "d-director"):
        answers = [desks[desk].get(f"/rehab/cases/{CODE}"), desks[desk].get("/rehab/day")]
        answers.append(desks[desk].client.get(f"/rehab/cases/{CODE}"))
        for answer in answers:
            assert "Alena" not in answer.text and "mornings only" not in answer.text, desk
    assert not rows(app, "person-read") and not rows(app, "notes-read")


def test_a_refused_person_form_or_note_never_quotes_what_names_her(app: App, desks: Desks) -> None:
    launched(desks)
    with_person(desks)
    manager = desks["n-zdolnik"]
    bad = manager.post(f"/rehab/cases/{CODE}/person", {"name": NAME, "birth_year": "Alenovna"})
    assert bad.status_code == 422
    assert "Alenovna" not in bad.text and NAME not in bad.text
    assert [i["field"] for i in bad.json()["issues"]] == ["birth_year"]
    named = manager.post(f"/rehab/cases/{CODE}/note", {"note": f"{NAME} called twice"})
    assert named.status_code == 422 and "Alena" not in named.text
    reason = manager.post(f"/rehab/cases/{CODE}/notes", {"reason": f"call {NAME}"})
    assert reason.status_code == 422 and "Alena" not in reason.text
    assert "Alena" not in str([r.detail for r in rows(app, "refused")])


# -- rule 9: a purged case; and an ended case's actions --------------------------------------


def test_a_purged_case_shows_nothing_and_takes_no_action(app: App, desks: Desks) -> None:
    launched(desks)
    with_person(desks)
    manager = desks["n-zdolnik"]
    manager.post(f"/rehab/cases/{CODE}/note", {"note": "mornings only"})
    assert manager.post(f"/rehab/cases/{CODE}/close", {"reason": "moved-away"}).status_code == 200
    purge.purge(
        app.store, app.directories, code=CODE, reason="her request", by="d-director", now=app.now()
    )
    before = audit_count(app)
    for desk in ("n-zdolnik", "d-director"):
        page = desks[desk].get(f"/rehab/cases/{CODE}")
        assert page.status_code in (404, 410, 422), page.text
        assert set(page.json()) <= {"detail", "error", "issues"}
        for action, fields in ACTIONS.items():
            answer = desks[desk].post(f"/rehab/cases/{CODE}/{action}", fields)
            assert answer.status_code in (403, 404, 409, 410, 422), (action, answer.text)
            assert "Alena" not in answer.text and "mornings only" not in answer.text
            assert "rehab-centre" not in answer.text and "Medical check-up" not in answer.text
        day = desks[desk].get("/rehab/day").json()
        assert CODE not in str(day)
    assert not {r.action for r in _since(app, before)} & {"note", "person", "consent", "amend"}
    assert launch(manager).status_code in (409, 410, 422)


def _since(app: App, first: int) -> list[AuditRow]:
    with app.store.session() as session:
        return list(session.scalars(select(AuditRow).where(AuditRow.id > first)).all())


def test_an_ended_cases_plan_can_no_longer_be_changed_from_its_page(app: App, desks: Desks) -> None:
    active(desks)
    manager = desks["n-zdolnik"]
    text = manager.get(f"/rehab/cases/{CODE}").json()["plan_text"]
    assert manager.post(f"/rehab/cases/{CODE}/close", {"reason": "moved-away"}).status_code == 200
    page = manager.get(f"/rehab/cases/{CODE}").json()
    assert not any(page["may"][k] for k in ("record", "amend", "close", "approve"))
    changes = {**ACTIONS, "amend": {"plan_text": text, "do": "store"}}
    for action in ("consent", "check-in", "complete", "amend", "approve", "close", "send-back"):
        for desk in ("n-zdolnik", "d-director"):
            answer = desks[desk].post(f"/rehab/cases/{CODE}/{action}", changes[action])
            assert answer.status_code in (403, 409, 422), (desk, action, answer.text)
    status = manager.get(f"/rehab/cases/{CODE}").json()["status"]
    assert status["state"] == "cancelled" and status["revision"] == 1
    assert len(rows(app, "case-closed")) == 1 and not rows(app, "consent")


# -- rule 3 on the day page: a manager sees her own cases, nothing of another's ---------------


def test_a_managers_day_names_no_case_of_another_manager(app: App, desks: Desks) -> None:
    active(desks, CODE, "n-zdolnik")
    active(desks, OTHER, "a-kovalchuk")
    launched(desks, "BC-ATK-3", "a-kovalchuk")
    for manager, mine, others in (
        ("n-zdolnik", {CODE}, {OTHER, "BC-ATK-3"}),
        ("a-kovalchuk", {OTHER, "BC-ATK-3"}, {CODE}),
    ):
        day = desks[manager].get("/rehab/day").json()
        assert not any(code in str(day) for code in others), manager
        assert day["awaiting_approval"] == [] and day["cases"] == len(mine)
        html = desks[manager].client.get("/rehab/day").text
        assert not any(code in html for code in others) and 'id="awaiting-approval"' not in html
    supervisor = desks["o-other"].get("/rehab/day").json()
    assert not any(code in str(supervisor) for code in (CODE, OTHER, "BC-ATK-3"))


# -- every answer: never cached, never framed; each change and refusal an audit row ----------


def test_every_answer_of_the_staff_pages_is_never_cached(app: App, desks: Desks) -> None:
    launched(desks)
    manager, stranger = desks["n-zdolnik"], desks["a-kovalchuk"]
    token = manager.csrf()
    answers = [
        manager.get("/rehab/day"),
        manager.client.get("/rehab/day"),
        manager.client.get("/rehab/plans/new?template=acute-crisis"),
        manager.get(f"/rehab/cases/{CODE}"),
        manager.client.get(f"/rehab/cases/{CODE}"),
        manager.get("/rehab/cases/BC-NONE-9"),
        manager.get("/rehab/nothing-here?reason=x"),
        stranger.get(f"/rehab/cases/{CODE}"),
        manager.post(f"/rehab/cases/{CODE}/no-such-action", {}),
        manager.post(f"/rehab/cases/{CODE}/note", {"note": "x"}, csrf="wrong"),
        manager.post(f"/rehab/cases/{CODE}/note", {"note": ""}),
        manager.post(f"/rehab/cases/{CODE}/notes", {"reason": "checking"}),
        manager.post("/rehab/plans/new", {"template": "acute-crisis", "do": "preview"}),
        manager.client.post(
            f"/rehab/cases/{CODE}/note", json=[1], headers={**JSON, "x-csrf-token": token}
        ),
        stranger.post(f"/rehab/cases/{CODE}/approve", {}),
    ]
    signed_out = TestClient(desks.door, base_url=DOOR)
    answers.append(signed_out.get("/rehab/day", headers=JSON))
    answers.append(signed_out.post(f"/rehab/cases/{CODE}/note", data={"note": "x"}))
    for answer in answers:
        assert answer.headers.get("cache-control") == "no-store", (
            answer.request.url,
            answer.status_code,
        )
    for page in answers[1:3] + answers[4:5]:
        assert page.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]


def test_a_day_of_the_pages_leaves_an_audit_chain_that_verifies(app: App, desks: Desks) -> None:
    active(desks)
    manager = desks["n-zdolnik"]
    manager.post(f"/rehab/cases/{CODE}/note", {"note": "mornings only"})
    manager.post(f"/rehab/cases/{CODE}/note", {"note": "x"}, csrf="wrong")
    desks["a-kovalchuk"].post(f"/rehab/cases/{CODE}/note", {"note": "x"})
    manager.post(f"/rehab/cases/{CODE}/close", {"reason": "moved-away"})
    with app.store.session() as session:
        assert verify(session).ok
    for action in ("note", "case-closed", "door-refused"):
        (row,) = rows(app, action)
        assert row.detail["session"] and "mornings" not in str(row.detail)
    assert "a-kovalchuk" in {r.actor for r in rows(app, "refused")}


def test_a_code_typed_in_other_letters_is_the_same_case_and_the_same_refusal(
    app: App, desks: Desks
) -> None:
    launched(desks)
    lower = CODE.lower()
    assert desks["a-kovalchuk"].get(f"/rehab/cases/{lower}").status_code == 403
    refused = desks["a-kovalchuk"].post(f"/rehab/cases/{lower}/note", {"note": "x"})
    assert refused.status_code == 403
    assert desks["n-zdolnik"].post(f"/rehab/cases/{lower}/note", {"note": "x"}).status_code == 200
    assert [r.case_code for r in rows(app, "note")] == [CODE]


def test_a_supervisor_of_no_case_of_hers_may_not_launch_one_for_a_manager(
    app: App, desks: Desks
) -> None:
    answer = launch(desks["o-other"], manager="n-zdolnik")
    assert answer.status_code == 403, answer.text
    assert not rows(app, "launch")


def test_a_step_title_naming_her_is_refused_without_quoting_her_name(
    app: App, desks: Desks
) -> None:
    text = (Path(__file__).parents[2] / "plans" / "templates" / "acute-crisis.yaml").read_text()
    text = text.replace("CHANGE-ME", CODE).replace("Medical check-up", "Check-up for Alena")
    answer = desks["n-zdolnik"].post(
        "/rehab/plans/new", {"plan_text": text + f"person:\n  name: {NAME}\n", "do": "launch"}
    )
    assert answer.status_code == 422, answer.text
    assert NAME not in answer.json()["detail"] and not rows(app, "launch")


def test_a_stranger_guessing_her_name_learns_nothing_from_the_answer_or_the_audit_log(
    app: App, desks: Desks
) -> None:
    launched(desks)
    with_person(desks)
    stranger = desks["a-kovalchuk"]
    answers = []
    for guess in ("Alena", "Olga"):
        for action, fields in (
            ("close", {"reason": "transferred", "to": f"{guess} Shelter"}),
            ("note", {"note": f"{guess} called"}),
            ("notes", {"reason": f"call {guess}"}),
            ("person-show", {"reason": f"call {guess}"}),
            ("consent", {"scopes": "medical", "status": "given", "note": guess}),
        ):
            answer = stranger.post(f"/rehab/cases/{CODE}/{action}", fields)
            answers.append((guess, action, answer.status_code, answer.json()["detail"]))
    right = [a[1:] for a in answers if a[0] == "Alena"]
    wrong = [a[1:] for a in answers if a[0] == "Olga"]
    assert right == wrong
    whys = {r.detail["why"] for r in rows(app, "refused") if r.actor == "a-kovalchuk"}
    assert not any("names-person" in why for why in whys), whys
