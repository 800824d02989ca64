"""The door in front of a real Prefect server and runner (security.md rules 1-3): without a
session nothing of Prefect is reachable; a signed-in person reads it all and writes nothing,
except a decision she may take, which the door records as hers; the breaks a holder of Prefect's
auth string could do are refused through the door and audited; a form resumed behind the door
decides nothing."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
import websockets

from tests.e2e.harness import Rehab, as_the_ui_fills_it, ui_csrf, wait_for

pytestmark = pytest.mark.e2e

PLAN = """
case: {code}
manager: n-zdolnik
steps:
  - {{id: stay, domain: housing, title: Crisis room, partner: brest-crisis-room, duration: 1h}}
"""


def approval_run(rehab: Rehab, code: str, key: str = "approval-plan") -> str:
    """The case's approval form, once it waits under pause key `key`."""

    def find() -> str | None:
        for run in rehab.decision_runs(code):
            state = run["state"]
            if (
                run["name"] == f"{code} · approval"
                and state["type"] == "PAUSED"
                and state["state_details"].get("pause_key") == key
            ):
                return str(run["id"])
        return None

    return wait_for(find, timeout=90, what=f"{code}'s approval form ({key})")


def refusals(rehab: Rehab) -> list[dict[str, object]]:
    return [d for _, _, action, d in rehab.audit_all() if action == "door-refused"]


def launch(rehab: Rehab, code: str) -> None:
    rehab.rehab("plan", "launch", str(rehab.write_plan(code, PLAN.format(code=code))))


def test_without_a_session_the_door_opens_nothing_but_sign_in(rehab: Rehab) -> None:
    stranger = httpx.Client(base_url=rehab.door.url, timeout=30)
    assert stranger.get("/health").json() == {"status": "up"}
    assert stranger.post("/api/flow_runs/filter", json={}).status_code == 401
    assert stranger.get("/api/flow_runs/filter").status_code == 401
    page = stranger.get("/runs")
    assert page.status_code == 303 and page.headers["location"] == "/sign-in?next=/runs"
    assert stranger.get("/ui-settings").status_code == 401
    assert stranger.get("/sign-in").status_code == 200


def test_a_signed_in_person_reads_prefect_and_the_ui_asks_no_password(rehab: Rehab) -> None:
    browser = rehab.person("a-kovalchuk")
    read = browser.post("/api/flow_runs/filter", json={"limit": 5}, headers=ui_csrf(browser))
    assert read.status_code == 200, read.text
    settings = browser.get("/ui-settings").json()
    assert settings["auth"] is None and settings["api_url"] == f"{rehab.door.url}/api"
    assert "rehab:" not in str(settings), "the auth string is never shown"


def test_the_breaks_of_an_auth_string_holder_are_refused_through_the_door(rehab: Rehab) -> None:
    code = "E2E-DOOR-1"
    launch(rehab, code)
    run = approval_run(rehab, code)
    plan_run = rehab.status(code)["flow_run_id"]
    manager = rehab.person("n-zdolnik")
    before = len(refusals(rehab))
    breaks = [
        ("POST", f"/api/flow_runs/{run}/set_state", {"state": {"type": "COMPLETED"}}),
        ("DELETE", f"/api/flow_runs/{plan_run}", None),
        ("POST", f"/api/flow_runs/{run}/input", {"key": "x", "value": "y"}),
        ("POST", "/api/variables/", {"name": "x", "value": "y"}),
        ("POST", f"/api/flow_runs/{plan_run}/resume", {"run_input": {}}),
    ]
    for method, path, body in breaks:
        answer = manager.request(method, path, json=body, headers=ui_csrf(manager))
        assert answer.status_code == 403, (method, path, answer.status_code)
    assert rehab.run_state(run) == "PAUSED"
    assert rehab.flow_run(plan_run)["id"] == plan_run
    assert len(refusals(rehab)) == before + len(breaks), "each refusal is an audit row"
    stranger = httpx.Client(base_url=rehab.door.url, timeout=30)
    assert stranger.post(f"/api/flow_runs/{run}/resume", json={}).status_code == 401
    assert rehab.run_state(run) == "PAUSED"


def test_only_who_may_decide_decides_through_the_door(rehab: Rehab) -> None:
    code = "E2E-DOOR-2"
    launch(rehab, code)
    run = approval_run(rehab, code)
    refused = rehab.decide_as("n-zdolnik", run, {})
    assert refused.status_code == 403 and "may not approve" in refused.json()["detail"]
    assert rehab.status(code)["state"] == "awaiting-approval"
    assert rehab.run_state(run) == "PAUSED"
    assert ("n-zdolnik", "refused") in [(a, act) for a, act, _ in rehab.audit(code)]

    supervisor = rehab.person("l-istomova")
    elsewhere = supervisor.post(
        f"/api/flow_runs/{run}/resume",
        json={"run_input": {}},
        headers={"Origin": "https://elsewhere.example", **ui_csrf(supervisor)},
    )
    assert elsewhere.status_code == 403, "a form sent from another site's page is refused"
    done = rehab.decide_as("l-istomova", run, {})
    assert done.status_code == 200, done.text
    assert rehab.status(code)["state"] == "active"
    wait_for(lambda: rehab.run_state(run) == "COMPLETED", timeout=60, what="the form to end")
    assert [a for a, act, _ in rehab.audit(code) if act == "approve"] == ["l-istomova"]
    approved = [d for _, act, d in rehab.audit(code) if act == "approve"]
    assert approved[0].get("session"), "the audit row names the session she decided in"
    again = supervisor.post(
        f"/api/flow_runs/{run}/resume", json={"run_input": {}}, headers=ui_csrf(supervisor)
    )
    assert again.status_code == 409, "decided already: the second submission changes nothing"


def test_a_form_resumed_behind_the_door_decides_nothing_and_waits_again(rehab: Rehab) -> None:
    code = "E2E-DOOR-3"
    launch(rehab, code)
    run = approval_run(rehab, code)
    keyset = rehab.flow_run(run)["state"]["state_details"]["run_input_keyset"]
    schema = rehab.api("GET", f"/flow_runs/{run}/input/{keyset['schema']}")
    values = as_the_ui_fills_it(schema if isinstance(schema, dict) else {}, {})
    rehab.api("POST", f"/flow_runs/{run}/resume", {"run_input": values})  # the auth string
    approval_run(rehab, code, "approval-plan-1")
    assert rehab.status(code)["state"] == "awaiting-approval"
    assert ("prefect-api", "refused") in [(a, act) for a, act, _ in rehab.audit(code)]


def test_prefect_holds_no_staff_code_password_or_session_after_forms(rehab: Rehab) -> None:
    code = "E2E-DOOR-4"
    launch(rehab, code)
    run = approval_run(rehab, code)
    assert rehab.decide_as("l-istomova", run, {}).status_code == 200
    browser = rehab.person("l-istomova")
    session = browser.cookies.get("rehab_session")
    assert session
    inputs = rehab.api("POST", f"/flow_runs/{run}/input/filter", {"prefix": "", "limit": 100})
    stored = str(inputs) + str(rehab.flow_run(run))
    assert session not in stored
    assert "code" not in {i.get("key") for i in inputs if isinstance(i, dict)}
    assert "a long password for the door" not in stored


def test_a_plan_sent_back_through_the_door_keeps_its_comment_out_of_prefect(rehab: Rehab) -> None:
    code = "E2E-DOOR-5"
    launch(rehab, code)
    run = approval_run(rehab, code)
    comment = "The crisis room step needs an end date before I approve it."
    empty = rehab.decide_as("l-istomova", run, {"decision": "send-back", "comment": ""})
    assert empty.status_code == 422 and "comment" in empty.json()["detail"]
    sent = rehab.decide_as("l-istomova", run, {"decision": "send-back", "comment": comment})
    assert sent.status_code == 200, sent.text
    assert sent.json()["rehab"]["decision"] == "sent-back"
    status = rehab.status(code)
    assert status["state"] == "awaiting-approval" and status["sent_back"]["by"] == "l-istomova"
    wait_for(lambda: rehab.run_state(run) == "COMPLETED", timeout=60, what="the form to close")
    inputs = rehab.api("POST", f"/flow_runs/{run}/input/filter", {"prefix": "", "limit": 100})
    logs = rehab.api("POST", "/logs/filter", {"logs": {"flow_run_id": {"any_": [run]}}})
    stored = str(inputs) + str(rehab.flow_run(run)) + str(logs)
    assert "crisis room step" not in stored, "the comment is sealed in the store, not Prefect"
    assert ("l-istomova", "plan-sent-back") in [(a, act) for a, act, _ in rehab.audit(code)]


def test_the_uis_event_stream_opens_through_the_door_for_a_signed_in_person_only(
    rehab: Rehab,
) -> None:
    url = rehab.door.url.replace("http", "ws", 1) + "/api/events/out"
    session = rehab.person("a-kovalchuk").cookies.get("rehab_session")

    async def first_answer(cookie: str | None, path: str = url) -> str:
        headers = {"Cookie": f"rehab_session={cookie}"} if cookie else {}
        try:
            async with websockets.connect(
                path,
                subprotocols=["prefect"],
                additional_headers=headers,  # type: ignore[list-item]  # a str is a Subprotocol
            ) as socket:
                await socket.send(json.dumps({"type": "auth", "token": None}))
                return str(json.loads(await asyncio.wait_for(socket.recv(), 30))["type"])
        except websockets.exceptions.WebSocketException as exc:
            return type(exc).__name__

    assert asyncio.run(first_answer(session)) == "auth_success", "the door gave the auth string"
    assert asyncio.run(first_answer(None)) != "auth_success", "no session, no stream"
    writes = url.replace("/events/out", "/events/in")
    assert asyncio.run(first_answer(session, writes)) != "auth_success", "no stream of writes"
