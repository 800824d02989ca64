"""A plan's artifacts on a real server: one timeline and one progress row per plan, updated in
place on every wake, so Prefect's database does not grow a version per wake."""

from __future__ import annotations

import pytest
from prefect.client.orchestration import SyncPrefectClient, get_client
from prefect.client.schemas.actions import ArtifactCreate
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
from prefect.settings import PREFECT_API_AUTH_STRING, PREFECT_API_URL, temporary_settings

from casework.store import queries
from casework.store.db import open_store
from flows.prefect import run_artifacts as prefect_shown
from tests.e2e.harness import AUTH, PrefectServer, Rehab, wait_for

pytestmark = pytest.mark.e2e

CODE = "E2E-ART-1"
# Ten steps one after the other, two seconds each: each step's end is a wake.
PLAN = f"""
case: {CODE}
manager: n-zdolnik
steps:
""" + "".join(
    f"  - {{id: s{n}, domain: housing, title: Stay {n}, partner: brest-crisis-room, "
    f"duration: 2s{', after: [s' + str(n - 1) + ']' if n else ''}}}\n"
    for n in range(10)
)


def wakes(rehab: Rehab) -> int:
    store = open_store(f"sqlite:///{rehab.home / 'cases.db'}", rehab.home / "secret.key")
    try:
        return queries.wake_count(store, code=CODE)
    finally:
        store.dispose()


def test_a_plans_artifacts_are_one_row_each_after_ten_wakes(rehab: Rehab) -> None:
    rehab.rehab("plan", "launch", str(rehab.write_plan(CODE, PLAN)))
    rehab.rehab("plan", "approve", CODE, "--by", "l-istomova")
    wait_for(lambda: rehab.status(CODE)["state"] == "completed", timeout=180, what="the end")
    assert wakes(rehab) >= 10
    keys = [f"plan-{CODE.lower()}", f"plan-{CODE.lower()}-progress"]
    rows = rehab.api("POST", "/artifacts/filter", {"artifacts": {"key": {"any_": keys}}})
    assert sorted(r["key"] for r in rows) == keys, "one row per artifact, however many wakes"
    latest = {
        r["key"]: r
        for r in rehab.api(
            "POST", "/artifacts/latest/filter", {"artifacts": {"key": {"any_": keys}}}
        )
    }
    assert latest[keys[1]]["data"] == 100.0, "the UI shows the plan as it stands now"
    assert "completed" in latest[keys[0]]["data"]


def test_two_writers_that_both_found_no_artifact_leave_one_row(
    prefect_server: PrefectServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At a plan's first wake its run and the clock may both read no artifact, then both
    create one; whichever publishes last keeps the older row and deletes its own."""
    with temporary_settings({PREFECT_API_URL: prefect_server.api, PREFECT_API_AUTH_STRING: AUTH}):
        with get_client(sync_client=True) as client:
            run_id = _new_run(client, "race")
            # The other writer's row, created after this one looked and found nothing.
            client.create_artifact(
                ArtifactCreate(key="plan-race", type="markdown", data="theirs", flow_run_id=run_id)
            )
        monkeypatch.setattr(prefect_shown, "_remember", lambda *_: None)
        monkeypatch.setattr(prefect_shown, "_shown", {})
        prefect_shown.publish(run_id, key="plan-race", code="RACE", markdown="mine", progress=50.0)
        with get_client(sync_client=True) as client:
            rows = client.read_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["plan-race"]))
            )
    assert len(rows) == 1, "one row, whoever created first"
    assert rows[0].data == "mine", "the row kept shows what was published last"


def test_the_progress_row_is_made_when_the_first_step_ends(
    prefect_server: PrefectServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Until a step ends the timeline alone says so: no progress row to make at a launch."""
    keys = ["plan-prog", "plan-prog-progress"]

    def rows(client: SyncPrefectClient) -> dict[str, object]:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=keys))
        )
        return {row.key or "": row.data for row in found}

    with temporary_settings({PREFECT_API_URL: prefect_server.api, PREFECT_API_AUTH_STRING: AUTH}):
        with get_client(sync_client=True) as client:
            run_id = _new_run(client, "progress")
        monkeypatch.setattr(prefect_shown, "_shown", {})
        prefect_shown.publish(
            run_id, key="plan-prog", code="PROG", markdown="none ended", progress=0
        )
        with get_client(sync_client=True) as client:
            assert rows(client) == {"plan-prog": "none ended"}
        monkeypatch.setattr(prefect_shown, "_shown", {})  # as a runner started anew
        prefect_shown.publish(
            run_id, key="plan-prog", code="PROG", markdown="one ended", progress=50
        )
        prefect_shown.publish(run_id, key="plan-prog", code="PROG", markdown="reopened", progress=0)
        with get_client(sync_client=True) as client:
            assert rows(client) == {"plan-prog": "reopened", "plan-prog-progress": 0}


def _new_run(client: SyncPrefectClient, name: str) -> str:
    """A bare flow run to publish on (no deployment, no process)."""
    flow_id = client.create_flow_from_name(f"artifact-{name}")
    made = client.request("POST", "/flow_runs/", json={"flow_id": str(flow_id), "name": name})
    return str(made.json()["id"])
