"""What the door lets through to Prefect (security.md rule 1): reads, including the POSTs that
only query; a decision form's submission to the door itself; every other write refused."""

from __future__ import annotations

import pytest

from flows.door import policy

RUN = "0b9d7b52-4a1e-4c43-9f8e-6f0f2b8f7a11"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/runs"),
        ("GET", f"/api/flow_runs/{RUN}"),
        ("GET", "/api/csrf-token"),
        ("GET", "/api/admin/version"),
        ("POST", "/api/flow_runs/filter"),
        ("POST", "/api/flow_runs/paginate"),
        ("POST", "/api/flow_runs/history"),
        ("POST", "/api/ui/flow_runs/history"),
        ("POST", "/api/artifacts/latest/filter"),
        ("POST", "/api/events/filter"),
        ("POST", "/api/events/count-by/day"),
        ("POST", "/api/logs/filter"),
        ("POST", "/api/saved_searches/filter"),
        ("POST", "/api/ui/schemas/validate"),
        ("POST", f"/api/flow_runs/{RUN}/input/filter"),
    ],
)
def test_reads_pass(method: str, path: str) -> None:
    assert policy.classify(method, path) == "read"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", f"/api/flow_runs/{RUN}/set_state"),
        ("DELETE", f"/api/flow_runs/{RUN}"),
        ("PATCH", f"/api/flow_runs/{RUN}"),
        ("POST", f"/api/flow_runs/{RUN}/input"),
        ("POST", "/api/flow_runs/input/bulk"),  # the engine's own route
        ("POST", "/api/artifacts/bulk"),  # the engine's own route
        ("POST", "/api/flow_runs/bulk_waiting"),  # the engine's own route
        ("POST", "/api/flow_runs/"),
        ("POST", f"/api/deployments/{RUN}/create_flow_run"),
        ("PATCH", f"/api/deployments/{RUN}"),
        ("POST", "/api/variables/"),
        ("PUT", "/api/saved_searches/"),
        ("POST", "/api/automations/"),
        ("POST", "/api/block_documents/"),
        ("POST", "/api/flow_runs/bulk_delete"),
        ("POST", "/api/work_pools/x/get_scheduled_flow_runs"),
        ("POST", f"/api/flow_runs/{RUN}/resume/../set_state"),
        ("POST", "/api/flow_runs/filter/../bulk_delete"),
        ("POST", "/api/flow_runs/bulk_delete/x/../filter"),
        ("GET", "/api/flow_runs//filter"),
        ("POST", "/api/./flow_runs/filter"),
    ],
)
def test_writes_are_refused(method: str, path: str) -> None:
    assert policy.classify(method, path) == "refused"


def test_a_resume_is_a_decision_the_door_takes_itself() -> None:
    assert policy.classify("POST", f"/api/flow_runs/{RUN}/resume") == "decision"
    assert policy.resumed_run(f"/api/flow_runs/{RUN}/resume") == RUN
    assert policy.resumed_run(f"/api/flow_runs/{RUN}/set_state") is None


def test_only_the_read_streams_open() -> None:
    assert policy.stream_allowed("/api/events/out")
    assert policy.stream_allowed("/api/logs/out")
    assert not policy.stream_allowed("/api/events/in")
    assert not policy.stream_allowed("/api/task_runs/subscriptions/scheduled")
