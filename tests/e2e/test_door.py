"""The door in front of a real Prefect server and runner (security.md rules 1-3): without a
session nothing of Prefect is reachable; a signed-in person reads it all and writes nothing,
except a decision she may take, which the door records as hers; the breaks a holder of the
auth string could do are refused and audited."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pyotp
import pytest

from tests.e2e.harness import Rehab, free_port, wait_for

pytestmark = pytest.mark.e2e

PLAN = """
case: {code}
manager: n-zdolnik
steps:
  - {{id: stay, domain: housing, title: Crisis room, partner: brest-crisis-room, duration: 1h}}
"""
PASSWORD = "a long password for the door"


class Door:
    """`python -m flows.door` for the tests' REHAB_HOME, on a free port."""

    def __init__(self, rehab: Rehab) -> None:
        self.rehab, self.port = rehab, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**rehab.env, "REHAB_PORT": str(self.port), "REHAB_HOST": "127.0.0.1"}
        log = (rehab.home / "door.log").open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "flows.door"], env=env, stdout=log, stderr=subprocess.STDOUT
        )
        wait_for(self.up, timeout=60, what="the door to answer")

    def up(self) -> bool:
        try:
            return httpx.get(f"{self.url}/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)

    def person(self, staff: str) -> httpx.Client:
        """A browser of `staff`: enrolled, her password set through her invite, signed in."""
        env = {"REHAB_PORT": str(self.port)}
        enrolled = self.rehab.rehab("staff", "enrol", staff, "--json", env=env).stdout
        data = __import__("json").loads(enrolled)
        assert data["invite"].startswith(f"{self.url}/invite/")
        totp: pyotp.TOTP = pyotp.parse_uri(data["uri"])  # type: ignore[assignment]
        browser = httpx.Client(base_url=self.url, timeout=60)
        invite_path = data["invite"].removeprefix(self.url)
        page = browser.get(invite_path)
        assert staff in page.text
        done = browser.post(invite_path, data={"form": nonce(page.text), "password": PASSWORD})
        assert done.status_code == 303 and done.headers["location"] == "/sign-in?password-set"
        page = browser.get("/sign-in")
        signed = browser.post(
            "/sign-in",
            data={
                "form": nonce(page.text),
                "staff": staff,
                "password": PASSWORD,
                "code": totp.now(),
                "next": "/",
            },
        )
        assert signed.status_code == 303, signed.text
        cookie = signed.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie
        return browser


def as_the_ui(browser: httpx.Client) -> dict[str, str]:
    """The CSRF headers Prefect's UI fetches (through the door) before any POST."""
    client = "rehab-door-tests"
    token = browser.get("/api/csrf-token", params={"client": client}).json()["token"]
    return {"Prefect-Csrf-Token": token, "Prefect-Csrf-Client": client}


def nonce(page: str) -> str:
    match = re.search(r'name="form" value="([^"]+)"', page)
    assert match, "the page's form carries its nonce"
    return match.group(1)


@pytest.fixture
def door(rehab: Rehab) -> Iterator[Door]:
    running = Door(rehab)
    try:
        yield running
    finally:
        running.stop()


def approval_run(rehab: Rehab, code: str) -> str:
    def find() -> str | None:
        for run in rehab.decision_runs(code):
            if run["name"] == f"{code} · approval" and run["state"]["type"] == "PAUSED":
                return str(run["id"])
        return None

    return wait_for(find, timeout=90, what=f"{code}'s approval form")


def refusals(rehab: Rehab) -> list[dict[str, Any]]:
    return [d for _, _, action, d in rehab.audit_all() if action == "door-refused"]


def test_without_a_session_the_door_opens_nothing_but_sign_in(door: Door) -> None:
    stranger = httpx.Client(base_url=door.url, timeout=30)
    assert stranger.get("/health").json() == {"status": "up"}
    assert stranger.post("/api/flow_runs/filter", json={}).status_code == 401
    assert stranger.get("/api/flow_runs/filter").status_code == 401
    page = stranger.get("/runs")
    assert page.status_code == 303 and page.headers["location"] == "/sign-in?next=/runs"
    assert stranger.get("/ui-settings").status_code == 401
    assert stranger.get("/sign-in").status_code == 200


def test_a_signed_in_person_reads_prefect_and_the_ui_asks_no_password(door: Door) -> None:
    browser = door.person("a-kovalchuk")
    read = browser.post("/api/flow_runs/filter", json={"limit": 5}, headers=as_the_ui(browser))
    assert read.status_code == 200, read.text
    settings = browser.get("/ui-settings").json()
    assert settings["auth"] is None and settings["api_url"] == f"{door.url}/api"
    assert "rehab:" not in str(settings), "the auth string is never shown"


def test_the_breaks_of_an_auth_string_holder_are_refused_through_the_door(
    door: Door, rehab: Rehab
) -> None:
    code = "E2E-DOOR-1"
    rehab.rehab("plan", "launch", str(rehab.write_plan(code, PLAN.format(code=code))))
    run = approval_run(rehab, code)
    plan_run = rehab.status(code)["flow_run_id"]
    manager = door.person("n-zdolnik")
    before = len(refusals(rehab))
    breaks = [
        ("POST", f"/api/flow_runs/{run}/set_state", {"state": {"type": "COMPLETED"}}),
        ("DELETE", f"/api/flow_runs/{plan_run}", None),
        ("POST", f"/api/flow_runs/{run}/input", {"key": "x", "value": "y"}),
        ("POST", "/api/variables/", {"name": "x", "value": "y"}),
        ("POST", "/api/deployments/filter/../x", None),
    ]
    for method, path, body in breaks:
        answer = manager.request(method, path, json=body, headers=as_the_ui(manager))
        assert answer.status_code in (403, 404), (method, path, answer.status_code)
    assert rehab.run_state(run) == "PAUSED"
    assert rehab.flow_run(plan_run)["id"] == plan_run
    assert len(refusals(rehab)) >= before + 4
    # The same with no session at all: 401, nothing changes.
    stranger = httpx.Client(base_url=door.url, timeout=30)
    assert stranger.post(f"/api/flow_runs/{run}/resume", json={}).status_code == 401
    assert rehab.run_state(run) == "PAUSED"


def test_only_who_may_decide_decides_through_the_door(door: Door, rehab: Rehab) -> None:
    code = "E2E-DOOR-2"
    rehab.rehab("plan", "launch", str(rehab.write_plan(code, PLAN.format(code=code))))
    run = approval_run(rehab, code)
    manager = door.person("n-zdolnik")
    refused = manager.post(f"/api/flow_runs/{run}/resume", json={"run_input": {}})
    assert refused.status_code == 403 and "may not approve" in refused.json()["detail"]
    assert rehab.status(code)["state"] == "awaiting-approval"
    assert rehab.run_state(run) == "PAUSED"

    supervisor = door.person("l-istomova")
    done = supervisor.post(
        f"/api/flow_runs/{run}/resume",
        json={"run_input": {}},
        headers={"Origin": "https://elsewhere.example"},
    )
    assert done.status_code == 403, "a form sent from another site's page is refused"
    done = supervisor.post(f"/api/flow_runs/{run}/resume", json={"run_input": {}})
    assert done.status_code == 200, done.text
    assert rehab.status(code)["state"] == "active"
    wait_for(lambda: rehab.run_state(run) == "COMPLETED", timeout=60, what="the form to end")
    approvals = [a for a, action, _ in rehab.audit(code) if action == "approve"]
    assert approvals == ["l-istomova"]
    again = supervisor.post(f"/api/flow_runs/{run}/resume", json={"run_input": {}})
    assert again.status_code == 409
