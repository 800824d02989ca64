"""A case manager's whole day through the door's own pages, in a real browser (Debian's
chromium, driven by Playwright), against `rehab up`; then everything Prefect holds, every
log file under REHAB_HOME and every URL the browsers opened is read back: the note, the
comment and the person's data are in none of them (security.md rule 7)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e import staff_day
from tests.e2e.harness import PASSWORD, PrefectServer
from tests.e2e.test_door_browser import CHROMIUM, Up

pytestmark = pytest.mark.e2e
playwright = pytest.importorskip("playwright.sync_api", reason="the dev extra installs playwright")


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Up]:
    running = Up(tmp_path_factory.mktemp("staff-day") / "home")
    try:
        yield running
    finally:
        running.stop()


def everything_prefect_holds(up: Up) -> str:
    """Every run, input, task run, log, artifact and event Prefect keeps, as one text."""
    auth = (up.home / "prefect-auth").read_text().strip()
    server = PrefectServer(up.home / "unused", int(up.env["REHAB_PREFECT_PORT"]))

    def call(path: str, body: dict[str, Any]) -> Any:
        response = server.call("POST", path, body, auth=auth)
        response.raise_for_status()
        return response.json()

    runs = call("/flow_runs/filter", {"limit": 200})
    seen: list[Any] = [runs]
    for run in runs:
        seen.append(call(f"/flow_runs/{run['id']}/input/filter", {"prefix": "", "limit": 100}))
    seen.append(call("/task_runs/filter", {"limit": 200}))
    seen.append(call("/logs/filter", {"limit": 200}))
    seen.append(call("/artifacts/filter", {"limit": 200}))
    since = {"occurred": {"since": "2000-01-01T00:00:00Z"}}
    page = call("/events/filter", {"filter": since, "limit": 50})
    while True:  # every page of the event store
        seen.append(page["events"])
        if not page.get("next_page"):
            break
        nxt = server.call("GET", page["next_page"].split("/api", 1)[1], None, auth=auth)
        nxt.raise_for_status()
        page = nxt.json()
    return json.dumps(seen, ensure_ascii=False)


def test_a_case_managers_whole_day_at_the_door(browser: Any, up: Up) -> None:
    enrol = {
        staff: json.loads(up.rehab("staff", "enrol", staff, "--json"))
        for staff in ("n-zdolnik", "l-istomova")
    }
    manager = staff_day.sign_in(browser, up.url, enrol["n-zdolnik"], "n-zdolnik", PASSWORD)
    supervisor = staff_day.sign_in(browser, up.url, enrol["l-istomova"], "l-istomova", PASSWORD)
    opened: list[str] = []
    for page in (manager, supervisor):
        page.on("framenavigated", lambda frame: opened.append(frame.url))

    staff_day.whole_day(manager, supervisor, up.url)

    status = up.status(staff_day.CODE)
    assert status["state"] == "cancelled"
    assert status["revision"] == 2
    check_ins = [c for s in status["steps"] for c in s["check_ins"] if c["outcome"] == "attended"]
    assert check_ins and check_ins[0]["recorded_by"] == "n-zdolnik"
    audit = json.loads(up.rehab("audit", "show", staff_day.CODE, "--json"))
    rows = audit["rows"] if isinstance(audit, dict) else audit
    by_manager = [r for r in rows if r.get("actor") == "n-zdolnik"]
    assert by_manager and all(r["detail"].get("session") for r in by_manager), by_manager

    secrets = [staff_day.NOTE, staff_day.COMMENT, *staff_day.PERSON.values()]
    prefect = everything_prefect_holds(up)
    assert staff_day.CODE in prefect, "the dump holds the case's runs"
    logs = "".join(
        p.read_text(errors="replace") for p in Path(up.home).rglob("*.log") if p.is_file()
    )
    urls = "\n".join(opened)
    assert f"/rehab/cases/{staff_day.CODE}" in urls
    for secret in secrets:
        pattern = re.escape(secret)
        assert not re.search(pattern, prefect), f"{secret!r} reached Prefect"
        assert not re.search(pattern, logs), f"{secret!r} reached a log file"
        assert not re.search(pattern, urls), f"{secret!r} reached a URL"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright.sync_playwright() as driver:
        chromium = driver.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            yield chromium
        finally:
            chromium.close()
