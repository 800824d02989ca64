"""A supervisor demoted in the staff directory while her approval form waits: on a real server,
runner and door, her session ends at once, signed in again as a case manager she is refused,
and the directory's new supervisor approves (security.md rule 3)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES
from tests.e2e.harness import PrefectServer, Rehab, ui_csrf, wait_for
from tests.e2e.test_door import PLAN, approval_run

pytestmark = pytest.mark.e2e


@pytest.fixture
def own(prefect_server: PrefectServer, tmp_path: Path) -> Iterator[tuple[Rehab, Path]]:
    """A runner of its own, reading a staff directory this test edits."""
    staff = tmp_path / "staff.yaml"
    shutil.copy(EXAMPLES / "staff.yaml", staff)
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    engine = Rehab(
        home,
        prefect_server,
        REHAB_PARTNERS_FILE=str(EXAMPLES / "partners.yaml"),
        REHAB_STAFF_FILE=str(staff),
    )
    engine.start_runner()
    try:
        yield engine, staff
    finally:
        engine.stop_door()
        engine.stop_runner()


def demote(staff: Path) -> None:
    """l-istomova becomes a case manager; a-kovalchuk the supervisor and the default one."""
    text = staff.read_text(encoding="utf-8")
    text = text.replace("default_supervisor: l-istomova", "default_supervisor: a-kovalchuk")
    text = text.replace("role: supervisor", "role: was-supervisor")
    text = text.replace(
        "(example case manager)\n    role: case-manager\n    language: en",
        "(example case manager)\n    role: supervisor\n    language: en",
    )
    staff.write_text(text.replace("role: was-supervisor", "role: case-manager"), encoding="utf-8")


def test_a_demoted_supervisor_is_refused_and_the_new_supervisor_approves(
    own: tuple[Rehab, Path],
) -> None:
    rehab, staff = own
    code = "E2E-DEMOTE-1"
    rehab.rehab("plan", "launch", str(rehab.write_plan(code, PLAN.format(code=code))))
    run = approval_run(rehab, code, "approval-plan")
    signed_in = rehab.person("l-istomova")

    demote(staff)
    ended = signed_in.post(
        f"/api/flow_runs/{run}/resume", json={"run_input": {}}, headers={"Origin": rehab.door.url}
    )
    assert ended.status_code == 401, "her session ended when her role changed"
    rehab._people.pop("l-istomova")
    again = rehab.decide_as("l-istomova", run, {})  # signed in anew, as a case manager
    assert again.status_code == 403, again.text
    assert rehab.status(code)["state"] == "awaiting-approval"
    assert rehab.run_state(run) == "PAUSED"

    browser = rehab.person("a-kovalchuk")
    done = browser.post(
        f"/api/flow_runs/{run}/resume", json={"run_input": {}}, headers=ui_csrf(browser)
    )
    assert done.status_code == 200, done.text
    wait_for(lambda: rehab.status(code)["state"] == "active", timeout=90, what=f"{code} approved")
    assert ("a-kovalchuk", "approve") in [(a, act) for a, act, _ in rehab.audit(code)]
