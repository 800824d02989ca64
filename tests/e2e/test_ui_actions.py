"""The Prefect UI's own buttons on a real server and runner, read back by the engine: a Cancel
on a living plan's run or on a waiting form is undone (it carries no identity), and a deleted
plan run is made again by the clock; each is audited as done from `prefect-ui`."""

from __future__ import annotations

import pytest

from tests.e2e.harness import Rehab, wait_for

pytestmark = pytest.mark.e2e

PLAN = """
case: {code}
manager: n-zdolnik
steps:
  - {{id: stay, domain: housing, title: Crisis room, partner: brest-crisis-room, duration: 40s}}
  - {{id: exam, domain: medical, title: Medical check, partner: brest-clinic, after: [stay],
      duration: 1h}}
"""


def cancel_as_the_ui(rehab: Rehab, run_id: str) -> None:
    """The UI's Cancel button: a Cancelling state, which Prefect turns into Cancelled for a
    run that waits with no process."""
    rehab.api("POST", f"/flow_runs/{run_id}/set_state", {"state": {"type": "CANCELLING"}})


def state_history(rehab: Rehab, run_id: str) -> list[str]:
    return [s["type"] for s in rehab.api("GET", f"/flow_run_states/?flow_run_id={run_id}")]


def ui_actions(rehab: Rehab, code: str) -> list[tuple[str, dict[str, str]]]:
    return [(act, d) for actor, act, d in rehab.audit(code) if actor == "prefect-ui"]


def test_a_cancel_in_the_ui_is_undone_for_a_living_plan_and_a_waiting_form(
    rehab: Rehab,
) -> None:
    code = "E2E-UI-1"
    rehab.rehab("plan", "launch", str(rehab.write_plan(code, PLAN.format(code=code))))
    plan_run = rehab.status(code)["flow_run_id"]
    form = wait_for(
        lambda: next(
            (
                r["id"]
                for r in rehab.decision_runs(code)
                if r["name"] == f"{code} · approval" and r["state"]["type"] == "PAUSED"
            ),
            None,
        ),
        timeout=120,
        what="the approval form",
    )
    cancel_as_the_ui(rehab, form)
    cancel_as_the_ui(rehab, plan_run)
    # Its history, not its state now: the clock may already be undoing the cancel.
    assert "CANCELLED" in state_history(rehab, plan_run)
    wait_for(
        lambda: rehab.run_state(plan_run) == "PAUSED" and rehab.run_state(form) == "PAUSED",
        timeout=60,
        what="both cancels undone",
    )
    assert sorted(d["run"] for act, d in ui_actions(rehab, code)) == ["approval", "plan"]
    done = rehab.decide_as("l-istomova", form, {})
    assert done.status_code == 200, "the form restored is the form: it still takes a decision"
    wait_for(lambda: rehab.status(code)["state"] == "active", timeout=90, what="the approval")


def test_a_plan_run_deleted_in_the_ui_is_made_again_at_the_plans_next_wake(
    rehab: Rehab,
) -> None:
    code = "E2E-UI-2"
    rehab.rehab("plan", "launch", str(rehab.write_plan(code, PLAN.format(code=code))))
    rehab.rehab("plan", "approve", code, "--by", "l-istomova")
    old = rehab.status(code)["flow_run_id"]
    wait_for(lambda: rehab.steps(code)["stay"] == "open", timeout=60, what="the first step")
    rehab.api("DELETE", f"/flow_runs/{old}")
    wait_for(lambda: rehab.steps(code)["exam"] == "open", timeout=90, what="the next wake")
    new = wait_for(
        lambda: (run := rehab.status(code)["flow_run_id"]) != old and run,
        timeout=60,
        what="a new run",
    )
    assert rehab.run_state(new) == "PAUSED"
    assert rehab.flow_run(new)["name"] == code
    assert ("plan-run-recreated", {"run": "plan"}) in ui_actions(rehab, code)
    logs = rehab.api("POST", "/logs/filter", {"logs": {"flow_run_id": {"any_": [new]}}})
    assert any("deleted in the Prefect UI" in entry["message"] for entry in logs)


def test_resume_clicked_on_a_living_plans_run_only_makes_the_engine_look_at_it_now(
    rehab: Rehab,
) -> None:
    code = "E2E-UI-3"
    rehab.rehab("plan", "launch", str(rehab.write_plan(code, PLAN.format(code=code))))
    rehab.rehab("plan", "approve", code, "--by", "l-istomova")
    plan_run = rehab.status(code)["flow_run_id"]
    wait_for(lambda: rehab.steps(code)["stay"] == "open", timeout=60, what="the first step")
    said = wait_for(
        lambda: rehab.flow_run(plan_run)["state"]["message"], timeout=60, what="its message"
    )
    before = rehab.status(code)

    rehab.api("POST", f"/flow_runs/{plan_run}/resume", {})  # the plan page's Resume button
    history = wait_for(
        lambda: (states := state_history(rehab, plan_run)).count("PENDING") and states,
        timeout=120,
        what="the run to execute",
    )
    assert "PENDING" in history
    wait_for(
        lambda: (
            (state := rehab.flow_run(plan_run)["state"])["type"] == "PAUSED"
            and state["message"] == said
        ),
        timeout=120,
        what="the run to wait again, saying where the plan stands",
    )
    after = rehab.status(code)
    assert after["state"] == before["state"] == "active"
    assert rehab.steps(code)["stay"] == "open", "nothing was decided or skipped by a Resume"
    assert not ui_actions(rehab, code)
