"""What a supervisor reads in the runs list, on a real server and runner, through the API as
the UI reads it: each plan run's tags follow the plan (an amendment, a missed check-in, its
end), its state message says where the plan stands, Prefect's own tag filter returns exactly
the overdue plans, and no living plan is "late"."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import PrefectServer, Rehab, example_directories, wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rehab]:
    """A server and a runner of this module's own, so "exactly the overdue plans" means it."""
    server = PrefectServer(tmp_path_factory.mktemp("prefect-tags")).start()
    rehab = Rehab(Path(tmp_path_factory.mktemp("rehab-tags")), server, **example_directories())
    try:
        rehab.start_runner()
        yield rehab
    finally:
        rehab.stop_runner()
        server.stop()


MISSED = """
case: E2E-TAG-MISS
manager: n-zdolnik
steps:
  - id: talk
    domain: psychological
    title: Psychologist
    partner: brest-psychologist
    check_ins: {every: 20s, count: 2, grace: 5s}
"""

AMENDED = """
case: E2E-TAG-AMEND
manager: n-zdolnik
steps:
  - {id: stay, domain: housing, title: Crisis room, partner: brest-crisis-room, duration: 1h}
"""

OVERDUE = """
case: E2E-TAG-LATE
manager: a-kovalchuk
steps:
  - {id: job, domain: employment, title: Job search, partner: brest-employment-centre, due: 2s}
"""


def plan_run(rehab: Rehab, code: str) -> dict[str, Any]:
    return rehab.flow_run(rehab.status(code)["flow_run_id"])


def launched(rehab: Rehab, code: str, text: str) -> Path:
    path = rehab.write_plan(code, text)
    rehab.rehab("plan", "launch", str(path))
    return path


def test_tags_and_messages_follow_an_amendment_a_missed_check_in_and_the_end(
    engine: Rehab,
) -> None:
    rehab = engine
    amended = launched(rehab, "E2E-TAG-AMEND", AMENDED)
    run = plan_run(rehab, "E2E-TAG-AMEND")
    assert {"rehab", "plan", "living", "waiting", "waiting:approval"} <= set(run["tags"])
    assert {"manager:n-zdolnik", "supervisor:l-istomova", "domain:housing"} <= set(run["tags"])
    assert run["state"]["message"] == "waiting for approval by the supervisor (l-istomova)"
    # Its approval form's run carries the same people: Prefect's filter shows who it waits on.
    people = {"manager:n-zdolnik", "supervisor:l-istomova"}
    form = wait_for(
        lambda: next(iter(rehab.decision_runs("E2E-TAG-AMEND")), None),
        timeout=60,
        what="the approval form's run",
    )
    assert {"decision:approval", *people} <= set(form["tags"])
    waiting_on_her = rehab.api(
        "POST",
        "/flow_runs/filter",
        {"flow_runs": {"tags": {"all_": ["decision:approval", "supervisor:l-istomova"]}}},
    )
    assert form["id"] in {r["id"] for r in waiting_on_her}

    # Sent back, the plan waits on its case manager's amendment, and the form closes.
    rehab.rehab(
        "plan", "send-back", "E2E-TAG-AMEND", "--by", "l-istomova", "--comment", "-",
        stdin="the crisis room needs an end date\n",
    )  # fmt: skip
    run = plan_run(rehab, "E2E-TAG-AMEND")
    assert {"waiting", "waiting:amendment"} <= set(run["tags"])
    assert "waiting:approval" not in run["tags"]
    assert run["state"]["message"] == (
        "sent back by l-istomova: waiting for its case manager's amendment"
    )
    assert rehab.run_state(form["id"]) == "COMPLETED"
    rehab.rehab("plan", "amend", str(amended), "--by", "n-zdolnik")
    run = plan_run(rehab, "E2E-TAG-AMEND")
    assert "waiting:approval" in run["tags"]
    again = wait_for(
        lambda: [r for r in rehab.decision_runs("E2E-TAG-AMEND") if r["id"] != form["id"]],
        timeout=60,
        what="the amended plan's approval form",
    )
    assert {"decision:approval", *people} <= set(again[0]["tags"])
    rehab.rehab("plan", "approve", "E2E-TAG-AMEND", "--by", "l-istomova")
    run = plan_run(rehab, "E2E-TAG-AMEND")
    assert not {"waiting", "waiting:approval"} & set(run["tags"])
    assert run["state"]["message"] == "open: stay"

    # An amendment gives the case another manager and a legal step the supervisor must approve.
    amended.write_text(
        AMENDED.replace("n-zdolnik", "a-kovalchuk")
        + "  - {id: court, domain: legal, title: Parental rights, partner: brest-legal-aid}\n"
    )
    rehab.rehab("plan", "amend", str(amended), "--by", "l-istomova")
    run = plan_run(rehab, "E2E-TAG-AMEND")
    assert {"manager:a-kovalchuk", "domain:legal", "waiting:approval"} <= set(run["tags"])
    assert "manager:n-zdolnik" not in run["tags"], "a tag no longer true is removed"
    assert run["state"]["message"].startswith("amendment waiting for approval")

    launched(rehab, "E2E-TAG-MISS", MISSED)
    rehab.rehab("plan", "approve", "E2E-TAG-MISS", "--by", "l-istomova")
    run_id = rehab.status("E2E-TAG-MISS")["flow_run_id"]

    # The first check-in passes unrecorded: the clock marks it missed and tags the plan.
    wait_for(
        lambda: {"missed", "attention"} <= set(rehab.flow_run(run_id)["tags"]),
        timeout=60,
        what="the missed check-in's tags",
    )
    assert "check-in missed: talk" in rehab.flow_run(run_id)["state"]["message"]
    # The second is missed too: the plan ends, and does not say its help was received.
    final = wait_for(
        lambda: (r := rehab.flow_run(run_id))["state"]["type"] == "COMPLETED" and r,
        timeout=120,
        what="the plan whose check-ins were all missed to end",
    )
    # The example directories' addresses reach no one: the psychologist was never told of the
    # step, so it ends "not delivered" (tests/integration/test_clock.py shows check-ins missed
    # when told).
    assert final["state"]["message"] == (
        "completed: not delivered, its partner was never told: talk"
    )
    assert "ended:not-delivered" in final["tags"]
    assert not {"living", "missed", "attention", "domain:psychological"} & set(final["tags"])

    # The Event Feed tells the same story, each event related to the plan's run.
    def story() -> list[str]:
        page = rehab.api(
            "POST",
            "/events/filter",
            {
                "filter": {
                    "related": {"id": [f"prefect.flow-run.{final['id']}"]},
                    "event": {"prefix": ["rehab."]},
                },
                "limit": 50,
            },
        )
        return sorted(e["event"] for e in page["events"])

    told = wait_for(
        lambda: (s := story()).count("rehab.check-in.missed") == 2 and s,
        timeout=60,
        what="the plan's story in the event store",
    )
    assert {"rehab.step.started", "rehab.step.completed", "rehab.plan.completed"} <= set(told)


def test_the_overdue_filter_returns_exactly_the_overdue_plans_and_none_is_late(
    engine: Rehab,
) -> None:
    rehab = engine
    launched(rehab, "E2E-TAG-LATE", OVERDUE)
    launched(rehab, "E2E-TAG-ONTIME", OVERDUE.replace("LATE", "ONTIME").replace("2s", "30d"))
    for code in ("E2E-TAG-LATE", "E2E-TAG-ONTIME"):
        rehab.rehab("plan", "approve", code, "--by", "l-istomova")

    def overdue() -> set[str]:
        # The body the Runs page sends for its tag filter (the UI maps tags to `all_`).
        runs = rehab.api(
            "POST", "/flow_runs/filter", {"flow_runs": {"tags": {"all_": ["overdue"]}}}
        )
        return {r["name"] for r in runs}

    assert wait_for(overdue, timeout=60, what="an overdue plan") == {"E2E-TAG-LATE"}
    assert "overdue: job" in plan_run(rehab, "E2E-TAG-LATE")["state"]["message"]
    living = rehab.api("POST", "/flow_runs/filter", {"flow_runs": {"tags": {"all_": ["living"]}}})
    assert living, "the plans of this module are living"
    for run in living:
        assert run["estimated_start_time_delta"] == 0, f"{run['name']} is shown as late"
