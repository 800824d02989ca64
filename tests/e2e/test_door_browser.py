"""The door in a real browser (Debian's chromium, driven by Playwright): a supervisor follows her
invite link, sets her password, signs in with her code, finds the plan's approval form in
Prefect's UI and approves it; a case manager, signed in too, submits the same form and the UI
shows the refusal, and nothing changes (security.md rules 1-3)."""

from __future__ import annotations

import json
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest

from tests.cli import rehab as in_process
from tests.e2e.harness import PASSWORD, PrefectServer, free_port, start_up, wait_for
from tests.e2e.test_door import PLAN
from tests.e2e.test_rotation_live import approval_form
from tests.e2e.test_up import rehab, rehab_env

pytestmark = pytest.mark.e2e

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ALL_TIME = "type=range&startDate=2000-01-01T00:00:00.000Z&endDate=2999-12-31T23:59:59.000Z"
playwright = pytest.importorskip("playwright.sync_api", reason="the dev extra installs playwright")
if not shutil.which("chromium"):
    pytest.skip(
        "Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True
    )


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright.sync_playwright() as driver:
        chromium = driver.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        try:
            yield chromium
        finally:
            chromium.close()


class Up:
    """`rehab up` (Prefect's UI served behind the door) in a test home."""

    def __init__(self, home: Path) -> None:
        self.env = rehab_env(home, free_port())
        self.url = f"http://127.0.0.1:{self.env['REHAB_PORT']}"
        self.process, _ = start_up(self.env)
        self.home = home

    def rehab(self, *args: str) -> str:
        done = rehab(self.env, *args)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def status(self, code: str) -> dict[str, Any]:
        """`rehab plan status CODE --json` in this process (a store read, looked at in a loop;
        tests/e2e/harness.py says why)."""
        done = in_process(self.env, "plan", "status", code, "--json")
        assert done.returncode == 0, done.output
        return dict(json.loads(done.stdout))

    def approval_run(self, code: str) -> str:
        """The case's approval form, read from Prefect behind the door (the operator's view)."""
        auth = (self.home / "prefect-auth").read_text().strip()
        server = PrefectServer(self.home / "unused", int(self.env["REHAB_PREFECT_PORT"]))
        return approval_form(server, auth, code)

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        self.process.communicate(timeout=240)


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Up]:
    running = Up(tmp_path_factory.mktemp("door-browser") / "home")
    try:
        yield running
    finally:
        running.stop()


def signed_in(browser: Any, up: Up, staff: str) -> Any:
    """A new browser context of `staff`: her invite followed, her password set, signed in."""
    data = json.loads(up.rehab("staff", "enrol", staff, "--json"))
    totp: pyotp.TOTP = pyotp.parse_uri(data["uri"])  # type: ignore[assignment]  # a TOTP URI
    page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
    page.goto(data["invite"])
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/sign-in?password-set")
    page.fill("#staff", staff)
    page.fill("#password", PASSWORD)
    page.fill("#code", totp.now())
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/sign-in" not in url)
    return page


def submit_the_form(page: Any, up: Up, run: str) -> None:
    """Open the decision run in Prefect's UI, Resume, and Submit its form."""
    page.goto(f"{up.url}/runs/flow-run/{run}")
    page.get_by_role("button", name="Resume").first.click()
    page.get_by_role("button", name="Submit").last.click()


def test_a_supervisor_approves_in_the_ui_and_a_case_manager_is_refused(
    browser: Any, up: Up
) -> None:
    code = "E2E-BROWSER-1"
    plan = up.home / "plan.yaml"
    plan.write_text(PLAN.format(code=code))
    up.rehab("plan", "launch", str(plan))
    run = up.approval_run(code)

    manager = signed_in(browser, up, "n-zdolnik")
    submit_the_form(manager, up, run)
    manager.get_by_text("may not approve").first.wait_for(timeout=30_000)
    assert up.status(code)["state"] == "awaiting-approval"

    supervisor = signed_in(browser, up, "l-istomova")
    # The saved view "waiting on people", as its query: the tag `waiting`, over all time.
    supervisor.goto(f"{up.url}/runs?tag=waiting&{ALL_TIME}")
    supervisor.get_by_text(code).first.wait_for(timeout=60_000)
    submit_the_form(supervisor, up, run)
    supervisor.get_by_text("Flow run resumed").first.wait_for(timeout=60_000)
    wait_for(lambda: up.status(code)["state"] == "active", timeout=60, what="the approval")
