"""Many runs' states, inputs and first artifacts in one request, against a real server: decision
forms under one key made to wait together, each with its own form and its key recorded as fired
(so a resumed flow gets what was sent); new state messages given only to the plan runs that
still wait; the forms' inputs and new runs' first artifacts made through the embedded server's
bulk routes, closed as the API is, or one by one where there is no such route."""

from __future__ import annotations

from uuid import UUID, uuid4

import httpx
import pytest
from prefect.client.orchestration import SyncPrefectClient
from prefect.client.schemas.actions import ArtifactCreate
from prefect.client.schemas.filters import (
    ArtifactCollectionFilter,
    ArtifactCollectionFilterKey,
    ArtifactFilter,
    ArtifactFilterFlowRunId,
)
from prefect.client.schemas.objects import StateType
from prefect.input.run_input import keyset_from_paused_state
from prefect.states import Cancelled, Running, Suspended

from flows.prefect import inputs, new_artifacts
from flows.prefect.bulk_states import set_states
from flows.prefect.decision_forms import form_for
from flows.prefect.inputs import BULK_INPUTS_PATH
from flows.prefect.new_artifacts import BULK_ARTIFACTS_PATH
from flows.prefect.opening import _has_form, _wait_with_forms
from flows.prefect.publish import label_run, show_messages
from tests.e2e.harness import AUTH, PrefectServer, basic

pytestmark = pytest.mark.e2e

KEY = "check-in-housing-1"


def _deployment(client: SyncPrefectClient) -> UUID:
    flow = client.create_flow_from_name("bulk-states-test")
    return client.create_deployment(flow_id=flow, name=f"d-{uuid4().hex[:8]}")


def _running(client: SyncPrefectClient, deployment: UUID, count: int) -> list[UUID]:
    return [
        client.create_flow_run_from_deployment(deployment, state=Running(name="Launching")).id
        for _ in range(count)
    ]


def test_forms_under_one_key_wait_together_each_with_its_form_and_its_key_fired(
    client: SyncPrefectClient,
) -> None:
    runs = _running(client, _deployment(client), 3)
    forms = [
        form_for("check-in").with_initial_data(description=f"check-in #{n} of case T-{n}")
        for n in range(3)
    ]

    waiting = _wait_with_forms(client, list(zip(runs, forms, strict=True)), key=KEY)

    assert waiting == set(runs)
    for n, run_id in enumerate(runs):
        run = client.read_flow_run(run_id)
        assert run.state is not None and run.state.type == StateType.PAUSED
        assert run.state.state_details.pause_key == KEY
        fired = run.empirical_policy.pause_keys or set()
        assert KEY in fired, "the key is fired: a resume gets the input"
        assert run.start_time is not None, "started, so never shown late"
        keyset = run.state.state_details.run_input_keyset
        assert keyset is not None
        assert client.read_flow_run_input(run_id, keyset["description"]) == (
            f'"check-in #{n} of case T-{n}"'
        )
        assert '"properties"' in client.read_flow_run_input(run_id, keyset["schema"])


def test_a_run_left_waiting_without_its_form_gets_it_at_the_next_try(
    client: SyncPrefectClient,
) -> None:
    deployment = _deployment(client)
    first, second = _running(client, deployment, 2)
    form = form_for("check-in").with_initial_data(description="check-in #1")
    # An earlier try: the first run waits under the key, then stopped before its form.
    asleep = Suspended(timeout_seconds=None, pause_key=KEY)
    keyset = keyset_from_paused_state(asleep)
    asleep.state_details.run_input_keyset = {str(k): v for k, v in keyset.items()}
    assert set_states(client, [first], asleep, force=False).keys() == {first}

    assert _has_form(client, client.read_flow_run(first), form)
    assert _has_form(client, client.read_flow_run(first), form), "stored once, kept"
    assert client.read_flow_run_input(first, keyset["description"]) == '"check-in #1"'
    gone = uuid4()
    assert _wait_with_forms(client, [(gone, form), (second, form)], key=KEY) == {second}


def test_new_state_messages_reach_only_the_plan_runs_unchanged_since_their_wake(
    client: SyncPrefectClient,
) -> None:
    runs = _running(client, _deployment(client), 4)
    for run_id in runs:
        asleep = Suspended(timeout_seconds=None, pause_key="w", message="step housing pending")
        client.set_flow_run_state(run_id, asleep, force=True)
    later: list[tuple[str, str]] = []
    for run_id in runs:  # each wake reads its run and leaves the new message for the tick's end
        label_run(str(run_id), tags=["missed"], message="step housing open", later=later)
    assert len(later) == 4
    # Its tags wait with it: no run shows `missed` beside the message from before its wake.
    assert not any("missed" in client.read_flow_run(run_id).tags for run_id in runs)
    waiting, resumed, cancelled, told = runs
    client.set_flow_run_state(resumed, Running(), force=True)
    client.set_flow_run_state(cancelled, Cancelled(message="by a supervisor"), force=True)
    # A person's change shown meanwhile (the door tends the case at once): newer than the tick.
    newer = Suspended(timeout_seconds=None, pause_key="w", message="step housing completed")
    client.set_flow_run_state(told, newer, force=True)

    show_messages(later)

    def state(run_id: UUID) -> tuple[StateType, str | None]:
        now = client.read_flow_run(run_id).state
        assert now is not None
        return now.type, now.message

    assert state(waiting) == (StateType.PAUSED, "step housing open")
    assert state(resumed)[0] == StateType.RUNNING
    assert state(cancelled) == (StateType.CANCELLED, "by a supervisor")
    assert state(told) == (StateType.PAUSED, "step housing completed")
    assert "missed" in client.read_flow_run(waiting).tags
    for moved in (resumed, cancelled, told):  # what moved them since labels them
        assert "missed" not in client.read_flow_run(moved).tags


def test_the_bulk_inputs_route_keeps_what_is_stored_and_stores_nothing_for_a_gone_run(
    prefect_server: PrefectServer, client: SyncPrefectClient
) -> None:
    run, other = _running(client, _deployment(client), 2)
    body = {"inputs": [{"flow_run_id": str(run), "key": "k", "value": '"first"'}]}
    assert prefect_server.call("POST", BULK_INPUTS_PATH, body).status_code == 201
    again = {"inputs": [{"flow_run_id": str(run), "key": "k", "value": '"second"'}]}
    assert prefect_server.call("POST", BULK_INPUTS_PATH, again).status_code == 201
    assert client.read_flow_run_input(run, "k") == '"first"', "what was stored is kept"

    with_gone = {
        "inputs": [
            {"flow_run_id": str(other), "key": "k", "value": '"x"'},
            {"flow_run_id": str(uuid4()), "key": "k", "value": '"x"'},
        ]
    }
    refused = prefect_server.call("POST", BULK_INPUTS_PATH, with_gone)
    assert refused.status_code == 404
    assert not inputs.no_such_route(refused), "a gone run, not a missing route"
    assert _keys(prefect_server, other) == [], "nothing half-stored"
    missing = prefect_server.call("POST", "/flow_runs/input/no-such-route", with_gone)
    assert inputs.no_such_route(missing)


def test_the_bulk_inputs_route_is_closed_like_the_rest_of_the_api(
    prefect_server: PrefectServer, client: SyncPrefectClient
) -> None:
    (run,) = _running(client, _deployment(client), 1)
    body = {"inputs": [{"flow_run_id": str(run), "key": "forged", "value": '"x"'}]}
    stranger = prefect_server.call("POST", BULK_INPUTS_PATH, body, auth=None)
    assert stranger.status_code in (401, 403), "no auth string, no CSRF token: refused"
    guessed = httpx.post(
        f"{prefect_server.api}{BULK_INPUTS_PATH}",
        json=body,
        headers={"Authorization": basic("rehab:guessed")} | prefect_server.csrf_headers(AUTH),
    )
    assert guessed.status_code == 401, "a CSRF token but a wrong auth string: refused"
    assert prefect_server.call("POST", BULK_INPUTS_PATH, body, csrf=False).status_code == 403
    assert _keys(prefect_server, run) == [], "nothing stored"


def test_inputs_go_one_by_one_to_a_server_without_the_route(client: SyncPrefectClient) -> None:
    run, gone = _running(client, _deployment(client), 1)[0], uuid4()
    inputs._without_route.add((str(client.api_url), BULK_INPUTS_PATH))  # as after a 404
    try:
        stored = inputs.store_inputs(
            client, [(run, "a", '"1"'), (run, "b", '"2"'), (gone, "a", '"1"')]
        )
        assert stored == {run}
        assert inputs.store_inputs(client, [(run, "a", '"changed"')]) == {run}, "kept: 409"
        assert client.read_flow_run_input(run, "a") == '"1"'
    finally:
        inputs._without_route.clear()


def _keys(server: PrefectServer, run: UUID) -> list[str]:
    listed = server.call("POST", f"/flow_runs/{run}/input/filter", {"prefix": ""})
    listed.raise_for_status()
    return [one["key"] for one in listed.json()]


def _rows(client: SyncPrefectClient, run: UUID) -> list[tuple[str | None, object]]:
    found = client.read_artifacts(
        artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run]))
    )
    return sorted((a.key, a.data) for a in found)


def _timelines(runs: list[UUID]) -> list[ArtifactCreate]:
    return [
        ArtifactCreate(key=f"plan-{n}", type="markdown", data=f"# plan {n}", flow_run_id=run)
        for n, run in enumerate(runs)
    ]


def test_new_runs_first_rows_are_made_in_one_request_as_each_would_be_alone(
    client: SyncPrefectClient,
) -> None:
    runs = _running(client, _deployment(client), 3)
    made = new_artifacts.create_artifacts(client, _timelines(runs))
    assert len(made) == 3 and all(made)
    for n, (run, kept) in enumerate(zip(runs, made, strict=True)):
        assert _rows(client, run) == [(f"plan-{n}", f"# plan {n}")], "one row, on its own run"
        assert [
            a.id
            for a in client.read_artifacts(
                artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run]))
            )
        ] == [kept]
        latest = client.read_latest_artifacts(
            artifact_filter=ArtifactCollectionFilter(
                key=ArtifactCollectionFilterKey(any_=[f"plan-{n}"])
            )
        )
        assert [a.latest_id for a in latest] == [kept], "the Artifacts page lists it by its key"


def test_the_bulk_artifacts_route_is_closed_like_the_rest_of_the_api(
    prefect_server: PrefectServer, client: SyncPrefectClient
) -> None:
    (run,) = _running(client, _deployment(client), 1)
    body = {"artifacts": [a.model_dump(mode="json") for a in _timelines([run])]}
    stranger = prefect_server.call("POST", BULK_ARTIFACTS_PATH, body, auth=None)
    assert stranger.status_code in (401, 403), "no auth string, no CSRF token: refused"
    assert prefect_server.call("POST", BULK_ARTIFACTS_PATH, body, csrf=False).status_code == 403
    assert _rows(client, run) == [], "nothing made"


def test_first_rows_go_one_by_one_to_a_server_without_the_route(client: SyncPrefectClient) -> None:
    runs = _running(client, _deployment(client), 2)
    inputs._without_route.add((str(client.api_url), BULK_ARTIFACTS_PATH))  # as after a 404
    try:
        made = new_artifacts.create_artifacts(client, _timelines(runs))
    finally:
        inputs._without_route.clear()
    assert all(made)
    assert [_rows(client, run) for run in runs] == [
        [("plan-0", "# plan 0")],
        [("plan-1", "# plan 1")],
    ]
