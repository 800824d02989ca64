"""The UI's forms on a real server and runner, submitted as the default UI submits them: a
wrong code, a used code, someone acting as another and someone not offered change nothing (the
decision waits, the refusal is audited); the right person with a fresh code is recorded."""

from __future__ import annotations

import time

import pyotp
import pytest

from tests.e2e.harness import Rehab, wait_for

pytestmark = pytest.mark.e2e

PLAN = """
case: {code}
manager: n-zdolnik
steps:
  - {{id: stay, domain: housing, title: Crisis room, partner: brest-crisis-room, duration: 1h}}
"""


def approval_run(rehab: Rehab, code: str, key: str) -> str:
    """The case's approval run, once it waits with the form of pause key `key`."""

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

    return wait_for(find, timeout=90, what=f"{code}'s approval form ({key}) to wait")


def refused(rehab: Rehab, code: str) -> list[tuple[str, str]]:
    return [
        (actor, detail.get("why", ""))
        for actor, action, detail in rehab.audit(code)
        if action in ("code-refused", "refused")
    ]


def next_step_code(totp: pyotp.TOTP, used: str) -> str:
    """A code of a later time step than `used` (waits up to 30 s for it)."""
    while (code := totp.now()) == used:
        time.sleep(1)
    return code


def test_forms_refuse_wrong_used_and_borrowed_codes_then_record_the_right_one(
    rehab: Rehab,
) -> None:
    first, second = "E2E-FORM-1", "E2E-FORM-2"
    for code in (first, second):
        rehab.rehab("plan", "launch", str(rehab.write_plan(code, PLAN.format(code=code))))
    supervisor, manager = rehab.enrol("l-istomova"), rehab.enrol("a-kovalchuk")

    # A wrong code: the server takes the form, the run checks it, refuses, waits again.
    run = approval_run(rehab, first, "approval-plan")
    wrong = "000000" if supervisor.now() != "000000" else "999999"
    assert (
        rehab.resume_as_the_ui(run, {"approved_by": "l-istomova", "code": wrong})["status"]
        == "ACCEPT"
    )
    run = approval_run(rehab, first, "approval-plan-1")
    assert rehab.status(first)["state"] == "awaiting-approval"
    assert refused(rehab, first) == [("l-istomova", "wrong or expired")]

    # Someone else choosing the supervisor's name, with a good code of their own.
    rehab.resume_as_the_ui(run, {"approved_by": "l-istomova", "code": manager.now()})
    run = approval_run(rehab, first, "approval-plan-2")
    assert refused(rehab, first)[-1] == ("l-istomova", "wrong or expired")

    # Someone the form does not offer: the server itself refuses the input.
    not_offered = rehab.server.call(
        "POST",
        f"/flow_runs/{run}/resume",
        {"run_input": {"approved_by": "a-kovalchuk", "code": manager.now()}},
    ).json()
    assert not_offered["status"] == "REJECT"
    assert rehab.run_state(run) == "PAUSED"

    # A code already used (on the other plan's form) is refused here.
    used = supervisor.now()
    other = approval_run(rehab, second, "approval-plan")
    rehab.resume_as_the_ui(other, {"approved_by": "l-istomova", "code": used})
    wait_for(
        lambda: rehab.status(second)["state"] == "active",
        timeout=90,
        what=f"{second} to be approved",
    )
    rehab.resume_as_the_ui(run, {"approved_by": "l-istomova", "code": used})
    run = approval_run(rehab, first, "approval-plan-3")
    assert refused(rehab, first)[-1] == ("l-istomova", "already used")
    assert rehab.status(first)["state"] == "awaiting-approval"

    # The right person with a fresh code: recorded.
    rehab.resume_as_the_ui(
        run, {"approved_by": "l-istomova", "code": next_step_code(supervisor, used)}
    )
    wait_for(
        lambda: rehab.status(first)["state"] == "active", timeout=90, what=f"{first} to be approved"
    )
    actions = [(actor, action) for actor, action, _ in rehab.audit(first)]
    assert ("l-istomova", "approve") in actions
    assert len(refused(rehab, first)) == 3
    assert not any(
        wrong in str(detail) or used in str(detail) for _, _, detail in rehab.audit(first)
    ), "codes are never audited"
