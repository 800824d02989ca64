"""A case manager's day in the UI alone: a due check-in opens its form, named for the case, the
step and the check-in's number; submitted as the UI submits it, it is recorded once. An
open-ended step's completion is a form too, and completing it ends the plan. A waiting form
costs no process: its run is created already suspended, and a process runs only to record what
was submitted."""

from __future__ import annotations

import pytest

from tests.e2e.harness import Rehab, wait_for

pytestmark = pytest.mark.e2e

CODE = "E2E-DAY-1"
PLAN = f"""
case: {CODE}
manager: n-zdolnik
steps:
  - {{id: psych, domain: psychological, title: Sessions, partner: brest-psychologist,
      check_ins: {{every: 1h, first: 2s, grace: 10m}}}}
"""


def form(rehab: Rehab, name: str) -> str:
    def find() -> str | None:
        for run in rehab.decision_runs(CODE):
            if run["name"] == name and run["state"]["type"] == "PAUSED":
                return str(run["id"])
        return None

    return wait_for(find, timeout=120, what=f"the form {name!r} to wait")


def states_of(rehab: Rehab, run_id: str) -> list[str]:
    history = rehab.api("GET", f"/flow_run_states/?flow_run_id={run_id}")
    return [s["type"] for s in sorted(history, key=lambda s: s["timestamp"])]


def test_a_check_in_and_a_step_completion_are_recorded_from_their_forms(rehab: Rehab) -> None:
    rehab.rehab("plan", "launch", str(rehab.write_plan(CODE, PLAN)))
    rehab.rehab("plan", "approve", CODE, "--by", "l-istomova")

    checkin = form(rehab, f"{CODE} · check-in · psych #1")
    description = rehab.flow_run(checkin)["state"]["state_details"]
    assert description.get("pause_key") == "check-in-psych-1"
    # Created started and suspended by the engine: never Pending, so no process was started.
    assert states_of(rehab, checkin) == ["RUNNING", "PAUSED"]
    assert rehab.flow_run(checkin)["infrastructure_pid"] is None
    accepted = rehab.decide_as("n-zdolnik", checkin, {"outcome": "attended"})
    assert accepted.status_code == 200, accepted.text
    wait_for(
        lambda: rehab.status(CODE)["steps"][0]["check_ins"][0]["outcome"] == "attended",
        timeout=90,
        what="the check-in recorded",
    )
    wait_for(lambda: rehab.run_state(checkin) == "COMPLETED", timeout=90, what="the form done")
    assert "PENDING" not in states_of(rehab, checkin), "the door ended it: no process ran"
    recorded = [d for a, act, d in rehab.audit(CODE) if act == "check-in"]
    assert len(recorded) == 1 and recorded[0].pop("session"), "its door session is named"
    assert recorded == [{"step": "psych", "outcome": "attended"}], "recorded once, by the form"

    completion = form(rehab, f"{CODE} · completion · psych")
    assert rehab.decide_as("l-istomova", completion, {}).status_code == 200
    wait_for(lambda: rehab.status(CODE)["state"] == "completed", timeout=90, what="the plan to end")
    assert rehab.steps(CODE) == {"psych": "completed"}
    assert ("l-istomova", "step-complete") in [(a, act) for a, act, _ in rehab.audit(CODE)]
