"""Take the README's pictures again: start `rehab up --examples` in a fresh home, run an example
day (an approval, a plan with a check-in due), sign in at the door as the example case manager
and photograph what she sees with a real headless browser (Debian's chromium, driven by
Playwright): the door's sign-in page, the Runs page through a saved view, a plan's timeline
artifact, a check-in's form, the Event Feed; then the staff's own pages along a case manager's
whole day (her day, a new plan with a problem and its preview, the approval's send-back, an
amendment's change, the case page).

    .venv/bin/python docs/screenshots.py            # writes docs/img/*.png

Needs `chromium` (`apt-get install chromium`) and the dev extra (Playwright's Python package;
it uses the system's chromium, and downloads no browser).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pyotp
from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
IMG = ROOT / "docs" / "img"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
WIDTH, HEIGHT = 1400, 900
ALL_TIME = "type=range&startDate=2000-01-01T00:00:00.000Z&endDate=2999-12-31T23:59:59.000Z"
DEMO = """
case: BC-2026-0077
manager: n-zdolnik
template: long-term-reintegration
steps:
  - {id: psych, domain: psychological, title: Counselling, partner: brest-psychologist,
     check_ins: {every: 14d, first: 5s, grace: 7d}}
  - {id: legal, domain: legal, title: Legal consultation, partner: brest-legal-aid}
"""
PASSWORD = "an example password for the screenshots"
T = TypeVar("T")


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def wait_for(check: Callable[[], T | None], what: str, timeout: float = 180) -> T:
    """Poll until `check` gives something true."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            found = check()
        except (httpx.HTTPError, KeyError, ValueError):
            found = None
        if found:
            return found
        time.sleep(1)
    raise SystemExit(f"timed out waiting for {what}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Stack:
    """`rehab up --examples` in a fresh home, and the `rehab` command pointed at it."""

    def __init__(self, home: Path, port: int) -> None:
        self.home, self.port = home, port
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("REHAB_", "PREFECT_"))}
        self.env.update(
            REHAB_HOME=str(home),
            REHAB_PREFECT_PORT=str(port),
            REHAB_PORT=str(door := free_port()),
            REHAB_CLOCK_INTERVAL="1s",
            REHAB_RUNNER_POLL="1s",
        )
        self.ui = f"http://127.0.0.1:{door}"  # the door: what people open
        self.prefect = f"http://127.0.0.1:{port}"  # behind it: the operator's view
        self.process: subprocess.Popen[str] | None = None

    def up(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "flows", "up", "--examples"],
            env=self.env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        out = self.process.stdout
        assert out is not None
        wait_for(lambda: "Press Ctrl-C" in out.readline(), "`rehab up` to be up")

    def down(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            self.process.communicate(timeout=240)

    def rehab(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "flows", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            raise SystemExit(f"rehab {' '.join(args)}: {done.stderr.strip()}")
        return done.stdout

    @property
    def auth(self) -> str:
        return (self.home / "prefect-auth").read_text().strip()

    def api(self, method: str, path: str, body: Any = None) -> Any:
        """Prefect's API behind the door, as the engine calls it: the auth string, a CSRF
        token."""
        basic = httpx.BasicAuth(*self.auth.split(":", 1))
        headers = {}
        if method != "GET":
            token = httpx.get(
                f"{self.prefect}/api/csrf-token", params={"client": "shots"}, auth=basic, timeout=30
            ).json()["token"]
            headers = {"Prefect-Csrf-Token": token, "Prefect-Csrf-Client": "shots"}
        response = httpx.request(
            method, f"{self.prefect}/api{path}", json=body, auth=basic, headers=headers, timeout=30
        )
        response.raise_for_status()
        return response.json() if response.content else None

    def run_named(self, name: str, state: str = "PAUSED") -> str | None:
        runs = self.api("POST", "/flow_runs/filter", {"flow_runs": {"name": {"any_": [name]}}})
        return next((r["id"] for r in runs if r["state"]["type"] == state), None)


def example_day(stack: Stack) -> dict[str, str]:
    """What the pictures show: an approved example plan, and a plan with a check-in due."""
    manager = json.loads(stack.rehab("staff", "enrol", "n-zdolnik", "--json"))
    stack.rehab("plan", "approve", "BC-2026-0042", "--by", "l-istomova")
    demo = stack.home / "BC-2026-0077.yaml"
    demo.write_text(DEMO)
    stack.rehab("plan", "launch", str(demo))
    stack.rehab("plan", "approve", "BC-2026-0077", "--by", "l-istomova")
    say("waiting for the check-in's form")
    form = wait_for(lambda: stack.run_named("BC-2026-0077 · check-in · psych #1"), "the form")
    plan_run = json.loads(stack.rehab("plan", "status", "BC-2026-0042", "--json"))["flow_run_id"]
    artifact = wait_for(
        lambda: stack.api(
            "POST",
            "/artifacts/filter",
            {"artifacts": {"key": {"any_": ["plan-bc-2026-0042"]}}, "limit": 1},
        )[0]["id"],
        "the timeline artifact",
    )
    return {"form": form, "plan_run": plan_run, "artifact": artifact, **manager}


def sign_in(page: Page, stack: Stack, day: dict[str, str]) -> None:
    """The case manager follows her invite, sets her password and signs in at the door (the
    sign-in page photographed on the way)."""
    page.goto(day["invite"])
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/sign-in?password-set")
    page.fill("#staff", day["staff"])
    page.fill("#password", PASSWORD)
    page.fill("#code", pyotp.parse_uri(day["uri"]).now())
    path = IMG / "door-sign-in.png"
    page.screenshot(path=str(path))
    say(f"wrote {path.relative_to(ROOT)}")
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/sign-in" not in url, timeout=30_000)


def shoot(page: Page, url: str, name: str, *, ready: str | None = None) -> Path:
    """Open `url`, let it settle, save docs/img/<name>.png."""
    page.goto(url)
    page.wait_for_load_state("networkidle")
    if ready:
        page.get_by_text(ready).first.wait_for(timeout=30_000)
    page.wait_for_timeout(1500)
    path = IMG / f"{name}.png"
    page.screenshot(path=str(path))
    say(f"wrote {path.relative_to(ROOT)}")
    return path


def check_fits(page: Page) -> None:
    """The timeline's tables fit the window: none scrolls sideways."""
    overflowing = page.evaluate(
        """() => [...document.querySelectorAll('table')]
            .map(t => t.parentElement)
            .filter(box => box.scrollWidth > box.clientWidth + 1).length"""
    )
    if overflowing:
        raise SystemExit(f"the timeline has {overflowing} table(s) wider than a {WIDTH} px window")
    say(f"the timeline's tables fit a {WIDTH} px window")


@contextmanager
def browser() -> Iterator[Page]:
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-background-networking", "--disable-component-update"],
        )
        try:
            page = chromium.new_page(viewport={"width": WIDTH, "height": HEIGHT})
            yield page
        finally:
            chromium.close()


def staff_day_shots(stack: Stack) -> None:
    """The staff's own pages: a case manager's whole day (tests/e2e/staff_day.py), each page
    photographed as she and her supervisor see it."""
    sys.path.insert(0, str(ROOT))
    from tests.e2e import staff_day  # noqa: PLC0415  # the same day the browser test drives

    def shot(page: Page, name: str) -> None:
        path = IMG / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        say(f"wrote {path.relative_to(ROOT)}")

    enrolment = {
        staff: json.loads(stack.rehab("staff", "enrol", staff, "--json"))
        for staff in ("n-zdolnik", "l-istomova")
    }
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            manager, supervisor = (
                staff_day.sign_in(chromium, stack.ui, enrolment[s], s, PASSWORD)
                for s in ("n-zdolnik", "l-istomova")
            )
            staff_day.whole_day(manager, supervisor, stack.ui, shoot=shot)
        finally:
            chromium.close()


def main() -> None:
    """Start the stack, run the day, take the pictures, stop the stack."""
    IMG.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        home.mkdir(mode=0o700)
        stack = Stack(home, free_port())
        say(f"starting rehab up --examples in {home}")
        stack.up()
        try:
            day = example_day(stack)
            with browser() as page:
                sign_in(page, stack, day)
                # The saved view "living plans", as its query: a tag, over all time.
                shoot(
                    page,
                    f"{stack.ui}/runs?tag=living&{ALL_TIME}",
                    "prefect-runs",
                    ready="BC-2026-0042",
                )
                shoot(
                    page,
                    f"{stack.ui}/artifacts/artifact/{day['artifact']}",
                    "prefect-timeline",
                    ready="BC-2026-0042: active",
                )
                check_fits(page)
                page.goto(f"{stack.ui}/runs/flow-run/{day['form']}")
                page.get_by_role("button", name="Resume").first.click()
                page.get_by_text("Встреча №1").first.wait_for(timeout=30_000)  # her language: ru
                page.wait_for_timeout(1000)
                path = IMG / "prefect-check-in-form.png"
                page.screenshot(path=str(path))
                say(f"wrote {path.relative_to(ROOT)}")
                shoot(
                    page,
                    f"{stack.ui}/events?events=rehab.*",
                    "prefect-events",
                    ready="rehab.step.started",
                )
            staff_day_shots(stack)
        finally:
            stack.down()


if __name__ == "__main__":
    main()
