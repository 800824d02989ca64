"""Partners answer through the links in their messages (issue 22), end to end: a real Prefect
server and runner, the door, e-mail through a real SMTP server on 127.0.0.1, and a phone-sized
browser (Debian's chromium, 360 px wide) following the links."""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.harness import PrefectServer, Rehab, free_port, wait_for
from tests.e2e.test_recovery import smtp_directories
from tests.endpoints import Mail, SmtpServer

pytestmark = pytest.mark.e2e

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
playwright = pytest.importorskip("playwright.sync_api", reason="the dev extra installs playwright")

CODE = "E2E-LINKS-1"
PLAN = """
case: {code}
manager: n-zdolnik
steps:
  - {{id: talk, domain: psychological, title: Weekly talk, partner: brest-clinic,
      check_ins: {{every: 40s, grace: 120s, remind: [35s]}}}}
  - {{id: stay, domain: housing, title: Crisis room, partner: brest-crisis-room}}
"""
CLINIC, CRISIS = "brest-clinic@partners.example", "brest-crisis-room@partners.example"
MANAGER, SUPERVISOR = "n-zdolnik@staff.example", "l-istomova@staff.example"
LINE = re.compile(r"^(.+): (http://127\.0\.0\.1:\d+/p/\S+)$", re.M)


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


class Engine:
    """A Prefect server, the runner and the door of one home; messages to the SMTP server."""

    def __init__(self, tmp_path: Path, smtp: SmtpServer) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = PrefectServer(tmp_path / "prefect").start()
        self.rehab = Rehab(
            tmp_path / "home",
            self.server,
            REHAB_REQUIRE_APPROVAL="false",
            REHAB_SEND_RETRY_BASE="1s",
            REHAB_PUBLIC_URL=self.url,
            REHAB_PORT=str(self.port),
            REHAB_HOST="127.0.0.1",
            **smtp_directories(smtp, tmp_path),
        )
        self.rehab.home.mkdir(mode=0o700)
        self.rehab.start_runner()
        log = (self.rehab.home / "door.log").open("ab")
        self.door = subprocess.Popen(
            [sys.executable, "-m", "flows.door"], env=self.rehab.env, stdout=log, stderr=log
        )
        wait_for(self._door_up, timeout=60, what="the door")

    def _door_up(self) -> bool:
        try:
            return httpx.get(f"{self.url}/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def step(self, step: str) -> dict[str, Any]:
        return next(s for s in self.rehab.status(CODE)["steps"] if s["id"] == step)

    def stop(self) -> None:
        self.door.terminate()
        self.door.wait(timeout=30)
        self.rehab.stop_runner(signal.SIGKILL)
        self.server.stop(signal.SIGKILL)


@pytest.fixture
def engine(tmp_path: Path, smtp: SmtpServer) -> Iterator[Engine]:
    running = Engine(tmp_path, smtp)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def phone() -> Iterator[Any]:
    if not shutil.which("chromium"):
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            yield browser.new_context(viewport={"width": 360, "height": 740}).new_page()
        finally:
            browser.close()


def mail(smtp: SmtpServer, to: str, subject: str, *, nth: int = 0) -> Mail:
    """The `nth` (from 0) e-mail to `to` whose subject starts with `subject`, once it came."""

    def found() -> Mail | None:
        mails = [m for m in smtp.to(to) if m.subject.startswith(subject) and CODE in m.subject]
        return mails[nth] if len(mails) > nth else None

    return wait_for(found, timeout=120, what=f"{subject} to {to}")


def links(message: Mail) -> dict[str, str]:
    found = dict(LINE.findall(message.body.replace("\r\n", "\n")))
    for part in message.html:  # plain links there too: no tracking, no images
        assert "<img" not in part.lower()
    return found


def follow(phone: Any, url: str) -> str:
    """Open a link on the phone, press its one button, and return what the page says then."""
    phone.goto(url)
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360  # fits the screen
    phone.click("button[type=submit]")
    phone.wait_for_load_state()
    return str(phone.inner_text("main"))


def test_a_partner_answers_from_its_messages(engine: Engine, smtp: SmtpServer, phone: Any) -> None:
    rehab = engine.rehab
    rehab.rehab("plan", "launch", str(rehab.write_plan(CODE, PLAN.format(code=CODE))))

    referral = links(mail(smtp, CLINIC, "Направление"))
    assert list(referral) == ["Принять направление", "Отклонить направление"]
    declining = links(mail(smtp, CRISIS, "Направление"))

    # A mail scanner fetches every link: nothing is recorded.
    for url in [*referral.values(), *declining.values()]:
        assert httpx.get(url, timeout=30).status_code == 200
    assert engine.step("talk")["accepted"] is None and engine.step("stay")["accepted"] is None

    assert "Записано" in follow(phone, referral["Принять направление"])
    assert engine.step("talk")["accepted"] is True

    reminder = links(mail(smtp, CLINIC, "Напоминание"))
    assert list(reminder) == ["Человек пришёл", "Человек не пришёл", "Попросить другую дату"]
    wait_for(lambda: len(engine.step("talk")["check_ins"]) >= 1, timeout=90, what="check-in 0")
    attended = reminder["Человек пришёл"]
    nonce = re.search(r'name="nonce" value="(\w+)"', httpx.get(attended, timeout=30).text)
    assert nonce is not None
    assert "Записано" in follow(phone, attended)
    check_in = engine.step("talk")["check_ins"][0]
    assert check_in["outcome"] == "attended"
    assert check_in["recorded_by"] == "partner:brest-clinic"
    # The same link again: what was recorded, and nothing changes.
    phone.goto(attended)
    assert "уже ответили" in phone.inner_text("main")
    again = httpx.post(attended, data={"nonce": nonce.group(1)}, timeout=30)
    assert again.status_code == 409
    assert engine.step("talk")["check_ins"][0] == check_in

    # Did not come, on the next reminder: the missed-check-in follow-up starts.
    reminder = links(mail(smtp, CLINIC, "Напоминание", nth=1))
    wait_for(lambda: len(engine.step("talk")["check_ins"]) >= 2, timeout=90, what="check-in 1")
    assert "Записано" in follow(phone, reminder["Человек не пришёл"])
    assert engine.step("talk")["check_ins"][1]["outcome"] == "missed"
    assert "talk" in mail(smtp, MANAGER, "Пропущена встреча").subject

    # Decline: the case manager and the supervisor are told.
    phone.goto(declining["Отклонить направление"])
    phone.select_option("#reason", "no-capacity")
    phone.click("button[type=submit]")
    phone.wait_for_load_state()
    assert engine.step("stay")["accepted"] is False
    told = mail(smtp, MANAGER, "Направление отклонено")
    assert "stay" in told.subject and "Нет возможности" in told.body
    mail(smtp, SUPERVISOR, "Направление отклонено")
    for message in smtp.received:  # the token is a capability: never in a staff message
        if "staff.example" in message.to[0]:
            assert "/p/" not in message.body
    assert "/p/" not in (rehab.home / "door.log").read_text()
    assert "/p/" not in (rehab.home / "runner.log").read_text()
