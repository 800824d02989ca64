"""A case manager's whole day at the door, in a real browser: the test drives it and asserts it,
and docs/screenshots.py runs the same day to photograph each page (`shoot`).

Sign in, my day, a new plan from a template with one field wrong then right, preview, launch;
the supervisor (another browser context) sends it back with a comment; the manager amends and
resubmits; the supervisor approves; the manager records consent and a check-in, writes a note,
reads it back with a reason, sets the person, and ends the case as moved-away."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import pyotp

CODE = "BC-2026-0101"
NOTE = "Prefers calls after 10:00; her sister drives her to the centre."
COMMENT = "Please make the first check-in at the centre sooner."
PERSON = {"name": "Alena Example", "contact": "+375 29 555 01 01"}
Shoot = Callable[[Any, str], None]


def no_shot(page: Any, name: str) -> None:
    """The test's camera: takes nothing."""


def sign_in(browser: Any, url: str, enrolment: dict[str, str], staff: str, password: str) -> Any:
    """A new browser context of `staff`: her invite followed, her password set, signed in,
    on her day page."""
    totp: pyotp.TOTP = pyotp.parse_uri(enrolment["uri"])  # type: ignore[assignment]  # a TOTP URI
    page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
    page.goto(enrolment["invite"])
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url("**/sign-in?password-set")
    page.goto(f"{url}/rehab/day")  # sends her to sign in, and back here after
    page.wait_for_url("**/sign-in?next=**")
    page.fill("#staff", staff)
    page.fill("#password", password)
    page.fill("#code", totp.now())
    page.click("button[type=submit]")
    page.wait_for_url("**/rehab/day")
    return page


def state_of(page: Any) -> str:
    """The case's state as its page shows it."""
    return str(page.locator("#case-state").inner_text()).strip()


def submit(page: Any, form: str, button: str = "button[type=submit]") -> None:
    """Submit one of the case page's forms and wait for the page it answers with."""
    with page.expect_navigation():
        page.locator(f"{form} {button}").first.click()


def whole_day(manager: Any, supervisor: Any, url: str, shoot: Shoot = no_shot) -> None:
    """The day, step by step, each step's outcome checked on the page itself."""
    case_url = f"{url}/rehab/cases/{CODE}"
    assert manager.locator("html").get_attribute("lang") == "ru"  # her directory's language
    manager.locator("#decisions").wait_for()
    shoot(manager, "staff-day")

    # A new plan from a template: one field wrong, then right; the preview; the launch.
    manager.goto(f"{url}/rehab/plans/new?template=acute-crisis")
    manager.fill("#case", "not a code!")
    with manager.expect_navigation():
        manager.click("button[value=check]")
    manager.locator(".field-problem[data-field=case]").wait_for()
    shoot(manager, "staff-new-plan-problem")
    manager.fill("#case", CODE)
    with manager.expect_navigation():
        manager.click("button[value=preview]")
    manager.locator("#preview").wait_for()
    assert manager.locator("#preview tr").count() > 3
    shoot(manager, "staff-new-plan-preview")
    with manager.expect_navigation():
        manager.click("button[value=launch]")
    manager.wait_for_url(f"**/rehab/cases/{CODE}*")
    assert state_of(manager) == "awaiting-approval"

    # The supervisor sends it back with a comment.
    supervisor.goto(f"{url}/rehab/day")
    supervisor.locator(f"#awaiting-approval a[href='/rehab/cases/{CODE}']").click()
    supervisor.wait_for_url(f"**/rehab/cases/{CODE}")
    supervisor.fill("#send-back-comment", COMMENT)
    shoot(supervisor, "staff-approval")
    submit(supervisor, "#approval form[action$=send-back]")
    supervisor.locator("#sent-back").wait_for()

    # She reads why, amends (the change shown before it is stored), and resubmits.
    manager.goto(case_url)
    assert COMMENT in manager.locator("#sent-back").inner_text()
    text = manager.input_value("#amend-text")
    sooner = re.sub(
        r"(- id: rehab-centre\n(?:  .*\n)*?  check_ins:\n)",
        r"\1    first: 10s\n",
        text,
        count=1,
    )
    assert sooner != text, "the plan's YAML has the step's check-ins"
    manager.fill("#amend-text", sooner)
    submit(manager, "#amend", "button[value=check]")
    assert "first: 10s" in manager.locator("#amend pre").inner_text()
    shoot(manager, "staff-amend")
    submit(manager, "#amend", "button[value=store]")
    assert state_of(manager) == "awaiting-approval"

    # The supervisor approves.
    supervisor.goto(case_url)
    submit(supervisor, "#approval form[action$=approve]")
    assert state_of(supervisor) == "active"

    # Consent, then the check-in once it is due.
    manager.goto(case_url)
    manager.check("#consent input[name=scopes][value=medical]")
    submit(manager, "#consent")
    assert "medical: given" in manager.locator("#timeline").inner_text()
    deadline = time.monotonic() + 120
    while True:
        manager.select_option("#check-in-step", "rehab-centre")
        manager.select_option("#check-in-outcome", "attended")
        submit(manager, "#check-in form")
        if "attended" in manager.locator("#timeline").inner_text():
            break
        assert time.monotonic() < deadline, manager.locator("#check-in").inner_text()
        time.sleep(2)
        manager.goto(case_url)

    # A note, read back with a reason; the person set, and shown with a reason.
    manager.fill("#note-text", NOTE)
    submit(manager, "#notes form[action$=note]")
    manager.fill("#notes-reason", "preparing the next check-in")
    submit(manager, "#notes form[action$=notes]")
    assert NOTE in manager.locator("#notes-read").inner_text()
    manager.fill("#person-name", PERSON["name"])
    manager.fill("#person-contact", PERSON["contact"])
    submit(manager, "#person form[action$=person]")
    manager.fill("#person-reason", "calling her back")
    submit(manager, "#person form[action$=person-show]")
    assert PERSON["name"] in manager.locator("#person-read").inner_text()
    shoot(manager, "staff-case")

    # The case ends: she moved away.
    manager.goto(case_url)
    manager.select_option("#close-reason", "moved-away")
    submit(manager, "#close")
    assert state_of(manager) == "cancelled"
    assert "moved-away" in manager.locator("main").inner_text()
