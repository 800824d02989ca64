"""A launch's plan runs (a bulk launch's, or one plan's), against a real server: created already
waiting, with their messages and started at that state (one state each, on time in the runs
list), in one request through the embedded server's route, closed as the API is; the same keys
give the same runs untouched (a run an earlier launch left half-made is made to wait); a server
without the route gets Prefect's own creation and a second state."""

from __future__ import annotations

from uuid import UUID, uuid4

import pytest
from prefect.client.orchestration import SyncPrefectClient
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.states import Running, Suspended, to_state_create

from flows.prefect import creating, inputs, recent
from flows.prefect.waiting_runs import BULK_WAITING_PATH
from tests.e2e.harness import PrefectServer

pytestmark = pytest.mark.e2e

FLOW = "waiting-runs-test"


@pytest.fixture
def deployment(client: SyncPrefectClient, monkeypatch: pytest.MonkeyPatch) -> UUID:
    """A deployment of its own, launched as the plans' is (the served one is the runner's)."""
    name = f"d-{uuid4().hex[:8]}"
    made = client.create_deployment(flow_id=client.create_flow_from_name(FLOW), name=name)
    monkeypatch.setattr(creating, "PLAN_DEPLOYMENT", f"{FLOW}/{name}")
    return made


def _plans(prefix: str, count: int) -> list[creating.PlanRun]:
    return [
        (f"{prefix}-{n}", 1, ["manager:n-zdolnik"], f"waiting for its first step ({n})")
        for n in range(count)
    ]


def _states(client: SyncPrefectClient, run: FlowRun) -> list[tuple[str, str | None]]:
    return [(s.type.value, s.name) for s in client.read_flow_run_states(run.id)]


def test_new_plan_runs_are_created_waiting_with_their_messages_and_on_time(
    client: SyncPrefectClient, deployment: UUID
) -> None:
    plans = _plans(f"W{uuid4().hex[:6]}", 3)
    started = creating.start_plan_runs(plans)

    assert set(started) == {code for code, *_ in plans}
    for code, _, tags, message in plans:
        run = client.read_flow_run(UUID(started[code]))
        assert run.name == code and run.deployment_id == deployment
        assert run.parameters == {"case": code} and set(tags) <= set(run.tags)
        assert run.state is not None and run.state.type == StateType.PAUSED
        assert run.state.message == message and run.state.state_details.pause_key == "launch"
        assert _states(client, run) == [("PAUSED", "Suspended")], "one state written, not two"
        assert run.start_time == run.expected_start_time, "started at its first state"
        assert run.estimated_start_time_delta.total_seconds() == 0, "never shown as late"
        assert recent.is_new(run.id), "its first wake knows it has nothing shown yet"


def test_the_same_plans_launched_again_get_the_same_runs_untouched(
    client: SyncPrefectClient, deployment: UUID
) -> None:
    plans = _plans(f"A{uuid4().hex[:6]}", 2)
    first = creating.start_plan_runs(plans)
    again = creating.start_plan_runs([(c, e, t, "another message") for c, e, t, _ in plans])

    assert again == first
    for code, *_ in plans:
        run = client.read_flow_run(UUID(first[code]))
        assert run.state is not None and run.state.message != "another message"
        assert len(_states(client, run)) == 1


def test_the_waiting_runs_route_is_closed_like_the_rest_of_the_api(
    prefect_server: PrefectServer, client: SyncPrefectClient, deployment: UUID
) -> None:
    code = f"X{uuid4().hex[:6]}"
    waiting = Suspended(timeout_seconds=None, pause_key="launch", message="forged")
    body = {
        "deployment_id": str(deployment),
        "flow_runs": [{"name": code, "state": to_state_create(waiting).model_dump(mode="json")}],
    }
    stranger = prefect_server.call("POST", BULK_WAITING_PATH, body, auth=None)
    assert stranger.status_code in (401, 403), "no auth string, no CSRF token: refused"
    assert prefect_server.call("POST", BULK_WAITING_PATH, body, csrf=False).status_code == 403
    running = {**body, "flow_runs": [{"name": code, "state": {"type": "RUNNING"}}]}
    assert prefect_server.call("POST", BULK_WAITING_PATH, running).status_code == 422
    assert [r for r in client.read_flow_runs() if r.name == code] == [], "nothing made"


def test_a_server_without_the_route_gets_prefects_own_creation_and_a_second_state(
    client: SyncPrefectClient, deployment: UUID
) -> None:
    plans = _plans(f"N{uuid4().hex[:6]}", 2)
    inputs._without_route.add((str(client.api_url), BULK_WAITING_PATH))  # as after a 404
    try:
        started = creating.start_plan_runs(plans)
    finally:
        inputs._without_route.clear()
    for code, _, _, message in plans:
        run = client.read_flow_run(UUID(started[code]))
        assert run.state is not None and run.state.message == message
        assert _states(client, run) == [
            ("RUNNING", creating.LAUNCHING),
            ("PAUSED", "Suspended"),
        ]
        assert run.estimated_start_time_delta.total_seconds() == 0


def test_the_routes_runs_show_what_prefects_own_creation_makes(
    client: SyncPrefectClient, deployment: UUID
) -> None:
    """Everything a run shows but its states and times, alike either way."""
    ours, theirs = f"O{uuid4().hex[:6]}", f"T{uuid4().hex[:6]}"
    made = creating.start_plan_runs(_plans(ours, 1))
    inputs._without_route.add((str(client.api_url), BULK_WAITING_PATH))
    try:
        made |= creating.start_plan_runs(_plans(theirs, 1))
    finally:
        inputs._without_route.clear()
    a, b = (client.read_flow_run(UUID(made[f"{prefix}-0"])) for prefix in (ours, theirs))
    alike = (
        "flow_id",
        "deployment_id",
        "deployment_version",
        "work_queue_name",
        "infrastructure_document_id",
        "tags",
        "labels",
        "empirical_policy",
    )
    assert {f: getattr(a, f) for f in alike} == {f: getattr(b, f) for f in alike}
    assert a.parameters.keys() == b.parameters.keys() == {"case"}


def test_one_plan_launched_alone_is_created_waiting_as_a_bulk_launchs_are(
    client: SyncPrefectClient, deployment: UUID
) -> None:
    code, episode, tags, message = _plans(f"S{uuid4().hex[:6]}", 1)[0]
    run_id = creating.start_plan_run(code, episode, tags, message)

    assert creating.start_plan_run(code, episode, tags, "another message") == run_id
    run = client.read_flow_run(UUID(run_id))
    assert run.name == code and run.deployment_id == deployment
    assert run.state is not None and run.state.message == message
    assert run.state.state_details.pause_key == "launch"
    assert _states(client, run) == [("PAUSED", "Suspended")], "one state written, not two"
    assert run.start_time == run.expected_start_time
    assert run.estimated_start_time_delta.total_seconds() == 0
    assert recent.is_new(run.id)


def test_a_launch_that_stopped_before_its_run_waited_is_finished_by_the_next(
    client: SyncPrefectClient, deployment: UUID
) -> None:
    code, episode, tags, message = _plans(f"H{uuid4().hex[:6]}", 1)[0]
    half = client.create_flow_run_from_deployment(
        deployment,
        name=code,
        idempotency_key=f"{code}/{episode}",
        state=Running(name=creating.LAUNCHING, message="launched"),
    )
    assert creating.start_plan_run(code, episode, tags, message) == str(half.id)
    run = client.read_flow_run(half.id)
    assert run.state is not None and run.state.type == StateType.PAUSED
    assert run.state.message == message
    assert run.estimated_start_time_delta.total_seconds() == 0


def test_one_plan_launched_alone_on_a_server_without_the_route_waits_all_the_same(
    client: SyncPrefectClient, deployment: UUID
) -> None:
    code, episode, tags, message = _plans(f"M{uuid4().hex[:6]}", 1)[0]
    inputs._without_route.add((str(client.api_url), BULK_WAITING_PATH))
    try:
        run_id = creating.start_plan_run(code, episode, tags, message)
    finally:
        inputs._without_route.clear()
    run = client.read_flow_run(UUID(run_id))
    assert run.state is not None and run.state.message == message
    assert _states(client, run) == [("RUNNING", creating.LAUNCHING), ("PAUSED", "Suspended")]
    assert run.estimated_start_time_delta.total_seconds() == 0
