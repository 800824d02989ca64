"""Erasure on a real Prefect server and runner: after `rehab case purge`, the Prefect API,
read back as the UI reads it, holds no run, artifact or log of the case, and the outbox holds
no message still to go."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from casework.store.db import open_store
from casework.store.tables import OutboxRow
from tests.conftest import EXAMPLES
from tests.e2e.harness import Rehab, wait_for

pytestmark = pytest.mark.e2e

CODE = "E2E-PURGE-1"
PLAN = f"""
case: {CODE}
manager: n-zdolnik
person: {{name: Yanina Purgeova, contact: "yanina.p@example.org"}}
steps:
  - {{id: stay, domain: housing, title: Crisis room, partner: brest-crisis-room, duration: 1h}}
  - {{id: exam, domain: medical, title: Medical check, partner: brest-clinic, consent: [medical]}}
"""


def prefect_holds(rehab: Rehab, run_ids: list[str]) -> dict[str, int]:
    """What the Prefect API still shows of the case: its runs, artifacts and logs."""
    runs = rehab.api("POST", "/flow_runs/filter", {"flow_runs": {"name": {"like_": CODE}}})
    artifacts = rehab.api(
        "POST",
        "/artifacts/filter",
        {"artifacts": {"key": {"any_": [f"plan-{CODE.lower()}", f"plan-{CODE.lower()}-progress"]}}},
    )
    logs = rehab.api("POST", "/logs/filter", {"logs": {"flow_run_id": {"any_": run_ids}}})
    return {"runs": len(runs), "artifacts": len(artifacts), "logs": len(logs)}


def test_a_purged_case_leaves_no_run_artifact_log_or_queued_message(rehab: Rehab) -> None:
    rehab.rehab("plan", "launch", str(rehab.write_plan(CODE, PLAN)))
    rehab.rehab("plan", "approve", CODE, "--by", "l-istomova")
    wait_for(lambda: rehab.steps(CODE)["stay"] == "open", timeout=120, what="the stay to open")
    runs = [r["id"] for r in rehab.decision_runs(CODE)] + [rehab.status(CODE)["flow_run_id"]]
    held = wait_for(
        lambda: (h := prefect_holds(rehab, runs))["artifacts"] and h["logs"] and h,
        timeout=120,
        what="the plan's artifacts and logs in Prefect",
    )
    assert held["runs"] >= 2
    rehab.rehab("consent", "withdraw", CODE, "--all", "--by", "n-zdolnik")

    staff = rehab.home / "staff-with-director.yaml"
    staff.write_text(
        (EXAMPLES / "staff.yaml").read_text() + "  d-director: {name: D, role: director}\n"
    )
    done = rehab.rehab(
        "case",
        "purge",
        CODE,
        "--reason",
        "erasure requested",
        "--by",
        "d-director",
        env={"REHAB_STAFF_FILE": str(staff)},
    )
    assert "purged" in done.stdout

    # Runs and artifacts go at once; their logs when the server's orphan sweep next runs.
    wait_for(
        lambda: prefect_holds(rehab, runs) == {"runs": 0, "artifacts": 0, "logs": 0},
        timeout=180,
        what="no trace of the case in Prefect",
    )
    store = open_store(f"sqlite:///{rehab.home / 'cases.db'}", rehab.home / "secret.key")
    try:
        with store.session() as session:
            waiting = session.scalars(
                select(OutboxRow).where(
                    OutboxRow.case_code == CODE, OutboxRow.status.in_(("pending", "sending"))
                )
            ).all()
        assert waiting == []
    finally:
        store.dispose()
    again = rehab.rehab("plan", "launch", str(rehab.home / f"{CODE}.yaml"), ok=False)
    assert again.returncode == 1 and "was purged" in again.stderr
