"""The staff's pages attacked on who may do what (security.md rules 1 to 3): another person's
case, for every read and every action; a role changed or removed mid-session; a forged,
replayed or cross-site form; a code in other letters or in another case's path; a day page;
a stranger guessing the person's name. Each test asserts the safe answer."""

from __future__ import annotations

from pathlib import Path

from flows.app import App
from flows.door.app import COOKIE
from tests.integration import staff_door
from tests.integration.staff_attacks import (
    ACTIONS,
    CODE,
    NAME,
    OTHER,
    active,
    directory_changed,
    launch,
    launched,
    rows,
    with_person,
)
from tests.integration.staff_door import DOOR, JSON, STAFF, Desks

app, desks, signed_in = staff_door.app, staff_door.desks, staff_door.signed_in  # its fixtures


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


def test_after_she_signs_out_her_old_cookie_and_token_change_nothing(
    app: App, desks: Desks
) -> None:
    launched(desks)
    manager = desks["n-zdolnik"]
    token, cookie = manager.csrf(), manager.client.cookies.get(COOKIE)
    assert manager.client.post("/sign-out", follow_redirects=False).status_code == 303
    manager.client.cookies.set(COOKIE, str(cookie))  # a copy of the cookie kept somewhere
    answer = manager.post(f"/rehab/cases/{CODE}/note", {"note": "x"}, csrf=token)
    assert answer.status_code == 401 and not rows(app, "note")
    assert manager.get(f"/rehab/cases/{CODE}").status_code == 401


def test_another_site_is_never_allowed_to_read_an_answer(desks: Desks) -> None:
    manager = desks["n-zdolnik"]
    evil = {"origin": "https://evil.example", "access-control-request-method": "POST"}
    for answer in (
        manager.client.options(f"/rehab/cases/{CODE}/note", headers=evil),
        manager.client.get("/rehab/day", headers={**JSON, "origin": "https://evil.example"}),
    ):
        assert "access-control-allow-origin" not in answer.headers
        assert "access-control-allow-credentials" not in answer.headers
