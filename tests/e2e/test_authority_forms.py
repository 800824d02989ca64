"""A supervisor demoted in the staff directory while her approval form waits: on a real server
and runner, her submission with a right code is refused, the form waits again offering the
directory's default supervisor instead, and she approves (security.md rule 3)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES
from tests.e2e.harness import PrefectServer, Rehab, wait_for
from tests.e2e.test_forms import PLAN, approval_run, refused

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


def test_a_demoted_supervisors_right_code_is_refused_and_the_new_supervisor_approves(
    own: tuple[Rehab, Path],
) -> None:
    rehab, staff = own
    code = "E2E-DEMOTE-1"
    rehab.rehab("plan", "launch", str(rehab.write_plan(code, PLAN.format(code=code))))
    old, new = rehab.enrol("l-istomova"), rehab.enrol("a-kovalchuk")
    run = approval_run(rehab, code, "approval-plan")  # offers l-istomova, as she was

    demote(staff)
    rehab.resume_as_the_ui(run, {"approved_by": "l-istomova", "code": old.now()})
    run = approval_run(rehab, code, "approval-plan-1")
    # The run checks what was sent against the form as the directory is now, which no longer
    # offers her: it does not fit, so nothing is recorded (the refusal is audited).
    assert refused(rehab, code) == [("unknown", "form-not-valid")]
    assert rehab.status(code)["state"] == "awaiting-approval"

    with pytest.raises(AssertionError, match="is not offered"):
        rehab.resume_as_the_ui(run, {"approved_by": "l-istomova", "code": old.now()})
    rehab.resume_as_the_ui(run, {"approved_by": "a-kovalchuk", "code": new.now()})
    wait_for(lambda: rehab.status(code)["state"] == "active", timeout=90, what=f"{code} approved")
    assert ("a-kovalchuk", "approve") in [(a, act) for a, act, _ in rehab.audit(code)]
