"""The staff's pages attacked on what they show and keep (security.md rules 7, 9, 10, 11, 13):
a template name that walks out, an upload too big, markup typed into a page, personal data in
a URL, a JSON answer or a refusal, a purged or ended case, the caching of every answer, the
audit chain a day leaves. Each test asserts the safe answer."""

from __future__ import annotations

from pathlib import Path

from starlette.testclient import TestClient

from casework.services import purge
from casework.store.audit_verify import verify
from flows.app import App
from tests.integration import staff_door
from tests.integration.staff_attacks import (
    ACTIONS,
    CODE,
    NAME,
    SCRIPT,
    active,
    audit_count,
    launch,
    launched,
    rows,
    since,
    with_person,
)
from tests.integration.staff_door import DOOR, JSON, Desks

app, desks, signed_in = staff_door.app, staff_door.desks, staff_door.signed_in  # its fixtures


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
    if not rows(app, "launch"):
        launched(desks)
    assert "<script>" not in manager.client.get(f"/rehab/cases/{CODE}").text
    token = manager.csrf()
    for action, fields in (
        ("check-in", {"step": SCRIPT, "outcome": "attended"}),
        ("amend", {"plan_text": text.replace("Two weeks", SCRIPT), "do": "check"}),
        ("amend", {"plan_text": SCRIPT, "do": "check"}),
    ):
        page = manager.client.post(f"/rehab/cases/{CODE}/{action}", data={**fields, "csrf": token})
        assert "<script>" not in page.text and "<img src=x" not in page.text, action


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
    assert not {r.action for r in since(app, before)} & {"note", "person", "consent", "amend"}
    assert launch(manager).status_code in (409, 410, 422)


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


def test_a_link_cannot_fill_the_new_plan_form_with_a_plan_or_personal_data(
    app: App, desks: Desks
) -> None:
    query = {
        "template": "acute-crisis",
        "case": "BC-LINK-1",
        "manager": "a-kovalchuk",
        "plan_text": f"person:\n  name: {NAME}\n",
        "partner.medical-check": "brest-psychologist",
    }
    manager = desks["n-zdolnik"]
    form = manager.get("/rehab/plans/new", params=query).json()["form"]
    assert form["template"] == "acute-crisis" and form["steps"]
    assert form["plan_text"] == "" and form["case"] == "" and form["manager"] == "n-zdolnik"
    assert {s["partner"] for s in form["steps"] if s["id"] == "medical-check"} == {"brest-clinic"}
    page = manager.client.get("/rehab/plans/new", params=query)
    assert "Alena" not in page.text and "BC-LINK-1" not in page.text
