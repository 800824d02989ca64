"""How a plan's run ends, on a real server and runner: consent withdrawn, a rule breached, its
steps done, and each again after the UI's Retry. An ending is news, not an error: the run's
logs and the runner's output say it in INFO lines, with no ERROR and no traceback."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.harness import Rehab, wait_for

pytestmark = pytest.mark.e2e

PLAN = """
case: {code}
manager: n-zdolnik
rules: [sobriety]
steps:
  - {{id: stay, domain: housing, title: Crisis room, partner: brest-crisis-room,
      duration: {duration}}}
"""
ERROR = 40  # Prefect stores a log's level as the logging module's number


def run_logs(rehab: Rehab, run_id: str) -> list[dict[str, Any]]:
    return list(
        rehab.api(
            "POST",
            "/logs/filter",
            {"logs": {"flow_run_id": {"any_": [run_id]}}, "limit": 200, "sort": "TIMESTAMP_ASC"},
        )
    )


def ended_quietly(rehab: Rehab, run_id: str, state: str, attempt: int) -> list[dict[str, Any]]:
    """Wait until the run has ended in `state`, its process gone and its engine's last line
    ("Finished in state ...") stored for the `attempt`-th time; return its logs."""
    wait_for(
        lambda: rehab.flow_run(run_id)["state"]["name"] == state and rehab.runner_children() == [],
        timeout=120,
        what=f"the run to end {state} (ending {attempt})",
    )

    def stored() -> list[dict[str, Any]] | None:
        logs = run_logs(rehab, run_id)
        finished = sum("Finished in state" in x["message"] for x in logs)
        return logs if finished >= attempt else None

    return wait_for(stored, timeout=30, what="the engine's last log line")


def retry_as_the_ui(rehab: Rehab, run_id: str) -> None:
    """The UI's Retry button on an ended run: AwaitingRetry, which the runner executes."""
    rehab.api(
        "POST",
        f"/flow_runs/{run_id}/set_state",
        {"state": {"type": "SCHEDULED", "name": "AwaitingRetry", "message": "Retry from the UI"}},
    )


def assert_news_not_error(logs: list[dict[str, Any]], runner_output: str, state: str) -> None:
    errors = [x["message"] for x in logs if x["level"] >= ERROR]
    assert errors == [], f"an ending logged as an error: {errors}"
    text = "\n".join(x["message"] for x in logs)
    assert "Traceback" not in text and "CancelledRun" not in text, text
    assert f"Finished in state {state}" in text, text
    assert "Traceback" not in runner_output, runner_output[-3000:]
    assert "CancelledRun" not in runner_output, runner_output[-3000:]
    assert "unexpected exception" not in runner_output, runner_output[-3000:]
    assert "| ERROR" not in runner_output, runner_output[-3000:]


def runner_output(rehab: Rehab) -> str:
    return (rehab.home / "runner.log").read_text(errors="replace")


@pytest.mark.parametrize(
    ("code", "end", "state"),
    [
        ("E2E-END-CANCEL", ("consent", "withdraw", "--all"), "Cancelled"),
        ("E2E-END-BREACH", ("rule", "breach", "--rule", "sobriety"), "Terminated"),
        ("E2E-END-DONE", (), "Completed"),
    ],
)
def test_every_ending_is_logged_as_news_without_an_error_or_a_traceback_also_after_retry(
    rehab: Rehab, code: str, end: tuple[str, ...], state: str
) -> None:
    duration = "3s" if not end else "1h"
    plan = rehab.write_plan(code, PLAN.format(code=code, duration=duration))
    rehab.rehab("plan", "launch", str(plan))
    rehab.rehab("plan", "approve", code, "--by", "l-istomova")
    wait_for(lambda: rehab.steps(code) != {"stay": "pending"}, timeout=60, what="the step")
    run_id = rehab.status(code)["flow_run_id"]
    if end:
        rehab.rehab(*end[:2], code, *end[2:], "--by", "n-zdolnik")

    logs = ended_quietly(rehab, run_id, state, attempt=1)
    assert_news_not_error(logs, runner_output(rehab), state)

    retry_as_the_ui(rehab, run_id)
    logs = ended_quietly(rehab, run_id, state, attempt=2)
    assert_news_not_error(logs, runner_output(rehab), state)
