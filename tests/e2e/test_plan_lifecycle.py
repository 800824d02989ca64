"""A plan's life on a real Prefect server and runner, time compressed to seconds."""

from __future__ import annotations

import re
from datetime import datetime

import pytest

from tests.e2e.harness import Rehab, wait_for

pytestmark = pytest.mark.e2e

PERSON = {
    "name": "Zinaida Testova-Private",
    "contact": "zina.private@example.org",
    "birth_year": "1937",
    "exploitation": "domestic-servitude",
}

STORY = f"""
case: E2E-STORY-1
manager: n-zdolnik
template: acute-crisis
person:
  name: "{PERSON["name"]}"
  gender: female
  birth_year: {PERSON["birth_year"]}
  contact: "{PERSON["contact"]}"
  exploitation: [{PERSON["exploitation"]}]
steps:
  - {{id: shelter, domain: housing, title: Crisis room, partner: brest-crisis-room,
      duration: 8s}}
  - {{id: medical, domain: medical, title: Medical check, partner: brest-clinic,
      after: [shelter], consent: [medical], check_ins: {{every: 8s, count: 2, grace: 15s}}}}
  - {{id: legal, domain: legal, title: Legal aid, partner: brest-legal-aid, consent: [legal]}}
  - {{id: psych, domain: psychological, title: Psychologist, partner: brest-psychologist,
      after: [medical], duration: 4s}}
"""


def suspended_decision(rehab: Rehab, code: str, name: str) -> str:
    def find() -> str | None:
        for run in rehab.decision_runs(code):
            if run["name"] == name and run["state"]["type"] == "PAUSED":
                return str(run["id"])
        return None

    return wait_for(find, timeout=90, what=f"decision run {name!r} to wait")


def no_process_held(rehab: Rehab, plan_run: str) -> bool:
    return rehab.run_state(plan_run) == "PAUSED" and rehab.runner_children() == []


def test_a_plan_runs_through_approval_consent_dependencies_and_check_ins(rehab: Rehab) -> None:
    code = "E2E-STORY-1"
    launched = rehab.rehab("plan", "launch", str(rehab.write_plan(code, STORY)), "--json")
    assert '"awaiting-approval"' in launched.stdout
    assert launched.stderr == "", "a command prints what it did and nothing else"
    plan_run = rehab.status(code)["flow_run_id"]
    run = rehab.flow_run(plan_run)
    assert run["name"] == code
    assert {"manager:n-zdolnik", "domain:medical", "template:acute-crisis"} <= set(run["tags"])

    # The supervisor approves in the UI: the decision run's form, resumed through the API.
    approval = suspended_decision(rehab, code, f"{code} · approval")
    wait_for(
        lambda: no_process_held(rehab, plan_run),
        timeout=60,
        what="no process to be held while the plan waits for a person",
    )
    accepted = rehab.decide_as("l-istomova", approval, {})
    assert accepted.status_code == 200, accepted.text
    # Started: open, or already over (its 8 s can pass between two looks on a loaded machine).
    wait_for(
        lambda: rehab.steps(code)["shelter"] in ("open", "completed"),
        timeout=60,
        what="shelter to start",
    )
    assert rehab.status(code)["state"] == "active"

    # Legal consent is refused in the CLI: the step is skipped, the plan goes on.
    suspended_decision(rehab, code, f"{code} · consent · legal")
    refused = rehab.rehab(
        "consent",
        "record",
        code,
        "--scope",
        "legal",
        "--refused",
        "--by",
        "n-zdolnik",
        "--note",
        "-",
        stdin="She said no after a long talk about her parents in Pinsk",
    )
    assert refused.stderr == "" and refused.stdout.startswith(f"{code}: consent refused")
    wait_for(lambda: rehab.steps(code)["legal"] == "skipped", timeout=60, what="legal skipped")

    # Medical consent is asked only once the shelter stay ends; given in the UI form.
    medical = suspended_decision(rehab, code, f"{code} · consent · medical")
    assert rehab.steps(code)["shelter"] == "completed"
    accepted = rehab.decide_as("n-zdolnik", medical, {"decision": "given"})
    assert accepted.status_code == 200, accepted.text
    wait_for(lambda: rehab.steps(code)["medical"] == "open", timeout=60, what="medical open")
    wait_for(
        lambda: no_process_held(rehab, plan_run),
        timeout=60,
        what="no process to be held while the plan sleeps",
    )

    # First check-in attended (recorded), the second nobody records: missed after grace.
    wait_for(
        lambda: rehab.status(code)["steps"][1]["check_ins"], timeout=60, what="the first check-in"
    )
    rehab.rehab("checkin", "record", code, "medical", "--outcome", "attended", "--by", "n-zdolnik")
    wait_for(
        lambda: rehab.status(code)["state"] == "completed", timeout=120, what="the plan to complete"
    )

    status = rehab.status(code)
    steps = {s["id"]: s for s in status["steps"]}
    assert {k: s["state"] for k, s in steps.items()} == {
        "shelter": "completed",
        "medical": "completed",
        "legal": "skipped",
        "psych": "completed",
    }
    assert [c["outcome"] for c in steps["medical"]["check_ins"]] == ["attended", "missed"]

    def at(step: str, field: str) -> datetime:
        return datetime.fromisoformat(steps[step][field])

    assert at("shelter", "ended_at") <= at("medical", "started_at")
    assert at("medical", "ended_at") <= at("psych", "started_at")
    wait_for(
        lambda: rehab.run_state(plan_run) == "COMPLETED",
        timeout=60,
        what="the plan run to be Completed",
    )
    assert_run_executed_once_and_shows_the_story(rehab, plan_run)
    decisions = rehab.decision_runs(code)
    names = {r["name"] for r in decisions}
    taken = {
        f"{code} · approval",
        f"{code} · consent · legal",
        f"{code} · consent · medical",
        f"{code} · check-in · medical #1",  # recorded in the CLI: its form is told
    }
    missed = f"{code} · check-in · medical #2"  # its form, if it opened, is no longer needed
    assert taken <= names and names - taken <= {missed}
    ended = {r["id"]: "CANCELLED" if r["name"] == missed else "COMPLETED" for r in decisions}
    wait_for(
        lambda: all(rehab.run_state(run) == state for run, state in ended.items()),
        timeout=60,
        what="every decision run to be Completed (a missed check-in's form Cancelled)",
    )

    assert_no_personal_data_in_prefect(rehab, [plan_run] + [r["id"] for r in decisions])


def assert_run_executed_once_and_shows_the_story(rehab: Rehab, plan_run: str) -> None:
    """Time's work (steps, check-ins, misses) cost no flow-run process: the run started at
    its launch (so it is never "late"), waited Suspended and executed once, to end; its logs
    and artifact tell what happened all the same."""
    states = [
        (s["type"], s["name"])
        for s in rehab.api("GET", f"/flow_run_states/?flow_run_id={plan_run}")
    ]
    assert states[0] == ("PAUSED", "Suspended"), "created waiting, started at that state"
    assert [t for t, _ in states[1:]].count("RUNNING") == 1, states
    logs = [
        log["message"]
        for log in rehab.api(
            "POST", "/logs/filter", {"logs": {"flow_run_id": {"any_": [plan_run]}}, "limit": 200}
        )
    ]
    for line in (
        "step-started shelter",
        "step-completed shelter (duration ended)",
        "check-in-missed medical (streak=1)",
        "step-completed psych (duration ended)",
    ):
        assert line in logs, f"{line!r} not in the run's logs"
    [markdown] = rehab.api(
        "POST", "/artifacts/latest/filter", {"artifacts": {"key": {"any_": ["plan-e2e-story-1"]}}}
    )
    assert markdown["flow_run_id"] == plan_run
    assert markdown["data"].startswith("# E2E-STORY-1: completed")


def assert_no_personal_data_in_prefect(rehab: Rehab, run_ids: list[str]) -> None:
    """Everything Prefect stores about the runs: runs, task runs, logs, artifacts, inputs."""
    seen = []
    for run_id in run_ids:
        seen.append(rehab.api("GET", f"/flow_runs/{run_id}"))
        seen.append(
            rehab.api("POST", f"/flow_runs/{run_id}/input/filter", {"prefix": "", "limit": 100})
        )
    ids = {"any_": run_ids}
    seen.append(rehab.api("POST", "/task_runs/filter", {"flow_runs": {"id": ids}}))
    seen.append(rehab.api("POST", "/logs/filter", {"logs": {"flow_run_id": ids}, "limit": 200}))
    seen.append(rehab.api("POST", "/artifacts/filter", {"artifacts": {"flow_run_id": ids}}))
    text = repr(seen)
    assert "E2E-STORY-1" in text and "run_input_keyset" in text, "the dump holds the runs"
    assert "recorded_by" not in text and "approved_by" not in text, "no staff id from a form"
    for field, value in PERSON.items():
        assert not re.search(rf"\b{re.escape(value)}\b", text), f"{field} leaked to Prefect"


WITHDRAW = """
case: E2E-WITHDRAW-1
manager: n-zdolnik
steps:
  - {id: shelter, domain: housing, title: Crisis room, partner: brest-crisis-room}
  - {id: medical, domain: medical, title: Check, partner: brest-clinic, consent: [medical],
     check_ins: {every: 1h}}
  - {id: later, domain: legal, title: Later, partner: brest-legal-aid, start: 1h}
"""


def test_withdrawing_all_consent_cancels_open_steps_and_the_run(rehab: Rehab) -> None:
    code = "E2E-WITHDRAW-1"
    rehab.rehab("plan", "launch", str(rehab.write_plan(code, WITHDRAW)))
    rehab.rehab("plan", "approve", code, "--by", "l-istomova")
    rehab.rehab("consent", "record", code, "--scope", "medical", "--given", "--by", "n-zdolnik")
    wait_for(
        lambda: rehab.steps(code) == {"shelter": "open", "medical": "open", "later": "pending"},
        timeout=60,
        what="both steps open",
    )
    rehab.rehab("consent", "withdraw", code, "--all", "--by", "n-zdolnik")
    assert rehab.steps(code) == {
        "shelter": "cancelled",
        "medical": "cancelled",
        "later": "cancelled",
    }
    plan_run = rehab.status(code)["flow_run_id"]
    wait_for(
        lambda: rehab.run_state(plan_run) == "CANCELLED",
        timeout=60,
        what="the plan run to end Cancelled",
    )
    assert rehab.status(code)["state"] == "cancelled"


def test_bad_input_to_every_command_is_refused_and_changes_nothing(rehab: Rehab) -> None:
    code = "E2E-BAD-1"
    plan = rehab.write_plan(code, WITHDRAW.replace("E2E-WITHDRAW-1", code))
    rehab.rehab("plan", "launch", str(plan))
    before = rehab.status(code)
    refusals = [
        (("plan", "status", "NO-SUCH-CASE"), "no case NO-SUCH-CASE"),
        (
            ("checkin", "record", code, "nope", "--outcome", "attended", "--by", "n-zdolnik"),
            "no step 'nope'",
        ),
        (("step", "complete", code, "nope", "--by", "n-zdolnik"), "is awaiting-approval"),
        (
            ("consent", "record", code, "--scope", "dental", "--given", "--by", "n-zdolnik"),
            "no consent scope 'dental'",
        ),
        (("plan", "approve", code, "--by", "n-zdolnik"), "'n-zdolnik' may not approve the plan"),
        (("plan", "launch", str(plan)), "already awaiting-approval"),
        (
            ("consent", "record", code, "--scope", "medical", "--given", "--by", "ghost"),
            "unknown staff id 'ghost'",
        ),
        (("rule", "breach", code, "--rule", "curfew", "--by", "n-zdolnik"), "no rule 'curfew'"),
    ]
    for args, message in refusals:
        done = rehab.rehab(*args, ok=False)
        assert done.returncode == 1, (args, done.stderr)
        assert message in done.stderr and "Traceback" not in done.stderr, (args, done.stderr)
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    rehab.rehab("plan", "approve", code, "--by", "l-istomova")
    done = rehab.rehab("plan", "approve", code, "--by", "l-istomova", ok=False)
    assert done.returncode == 1 and "not awaiting approval" in done.stderr
    after = rehab.status(code)
    assert after["revision"] == before["revision"] and after["steps"][0]["id"] == "shelter"
    assert rehab.rehab("plan", "launch", "--no-such-option", ok=False).returncode == 2


BREACH = """
case: E2E-BREACH-1
manager: n-zdolnik
rules: [sobriety]
steps:
  - {id: shelter, domain: housing, title: Crisis room, partner: brest-crisis-room}
"""


def test_a_breach_terminates_the_plan_and_a_relaunch_needs_approval(rehab: Rehab) -> None:
    code = "E2E-BREACH-1"
    plan = rehab.write_plan(code, BREACH)
    rehab.rehab("plan", "launch", str(plan))
    rehab.rehab("plan", "approve", code, "--by", "l-istomova")
    wait_for(lambda: rehab.steps(code) == {"shelter": "open"}, timeout=60, what="shelter open")
    first_run = rehab.status(code)["flow_run_id"]
    rehab.rehab("rule", "breach", code, "--rule", "sobriety", "--by", "n-zdolnik")
    wait_for(
        lambda: rehab.flow_run(first_run)["state"]["name"] == "Terminated",
        timeout=60,
        what="the run to end Terminated",
    )
    rehab.rehab("plan", "launch", str(plan))
    status = rehab.status(code)
    assert status["state"] == "awaiting-approval" and status["episode"] == 2
    assert status["flow_run_id"] != first_run


AMEND = """
case: E2E-AMEND-1
manager: n-zdolnik
steps:
  - {id: shelter, domain: housing, title: Crisis room, partner: brest-crisis-room, duration: 6s}
  - {id: psych, domain: psychological, title: Psychologist, partner: brest-psychologist}
"""


def test_an_amendment_reaches_the_running_plan_and_keeps_its_history(rehab: Rehab) -> None:
    code = "E2E-AMEND-1"
    plan = rehab.write_plan(code, AMEND)
    rehab.rehab("plan", "launch", str(plan))
    rehab.rehab("plan", "approve", code, "--by", "l-istomova")
    wait_for(
        lambda: rehab.steps(code)["shelter"] == "completed",
        timeout=90,
        what="the shelter stay to end",
    )
    ended = rehab.status(code)["steps"][0]["ended_at"]
    plan.write_text(
        AMEND.replace("duration: 6s", "duration: 60s")
        + """
  - {id: legal, domain: legal, title: Parental rights, partner: brest-legal-aid,
     after: [psych]}
"""
    )
    assert "revision 2 recorded" in rehab.rehab("plan", "amend", str(plan)).stdout
    rehab.rehab("step", "complete", code, "psych", "--by", "n-zdolnik")
    amendment = f"{code} · amendment · rev-2"
    wait_for(
        lambda: any(
            r["name"] == amendment and r["state"]["type"] == "PAUSED"
            for r in rehab.decision_runs(code)
        ),
        timeout=90,
        what="the amendment's approval form to wait",
    )
    assert rehab.steps(code)["legal"] == "pending", "a new step waits for the supervisor"
    rehab.rehab("plan", "approve", code, "--by", "l-istomova")
    wait_for(
        lambda: rehab.steps(code).get("legal") == "open",
        timeout=90,
        what="the added step to start once approved",
    )
    status = rehab.status(code)
    assert status["revision"] == 2
    assert status["steps"][0]["ended_at"] == ended, "what happened is not rewritten"


def test_the_prefect_api_is_closed_to_strangers(rehab: Rehab) -> None:
    server = rehab.server
    assert server.call("GET", "/admin/version", auth=None).status_code == 401
    assert server.call("GET", "/admin/version", auth="rehab:guessed").status_code == 401
    assert server.call("GET", "/csrf-token?client=x", auth=None).status_code == 401, (
        "a stranger cannot even get a CSRF token"
    )
    assert server.call("POST", "/flow_runs/count", {}, auth=None).status_code in (401, 403)
    assert server.call("POST", "/flow_runs/count", {}, csrf=False).status_code == 403
    assert server.call("POST", "/flow_runs/count", {}).status_code == 200
    assert server.call("GET", "/health", auth=None).status_code == 200
