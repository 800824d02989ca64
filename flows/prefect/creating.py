"""Creating the engine's flow runs: a plan's run at its launch, and the runs that wait for a
person's decision, each already waiting, so no process runs until something must execute.

A run is created Running (named `Launching`), then Suspended: Prefect counts a run that never
started as late from its first state on (`estimated_start_time_delta`), so a living plan would
show "(3d late)" in the runs list; a start at its creation makes its lateness zero for good.
That Suspended state is written once, with the message the run shows. On the embedded server
a launch skips the first: its runs (one, or a bulk launch's many) are created Suspended and
started at that state, in one request (flows/prefect/waiting_runs.py). The decision runs'
states and forms are flows/prefect/opening.py's."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any
from uuid import UUID

import httpx
from prefect.client.orchestration import SyncPrefectClient
from prefect.client.schemas.actions import DeploymentFlowRunCreate, StateCreate
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.client.schemas.objects import FlowRun, State
from prefect.exceptions import ObjectNotFound
from prefect.states import Running, Suspended, to_state_create

from flows.prefect import recent
from flows.prefect.bulk_states import pages, set_states
from flows.prefect.client import prefect_client
from flows.prefect.waiting_runs import create_waiting

PLAN_FLOW, DECISION_FLOW = "rehabilitation-plan", "decision"
PLAN_DEPLOYMENT = f"{PLAN_FLOW}/rehabilitation-plan"
DECISION_DEPLOYMENT = f"{DECISION_FLOW}/decision"
LAUNCHING = "Launching"
BULK_LIMIT = 100  # the server's own limit on one bulk creation

_deployments: dict[tuple[str, str], UUID] = {}  # (API address, name) -> id
_deployments_lock = threading.Lock()


def deployment_id(client: SyncPrefectClient, name: str) -> UUID:
    """The deployment's id, read once per server (a deployment keeps its id when served again)."""
    where = (str(client.api_url), name)
    with _deployments_lock:
        known = _deployments.get(where)
    if known is None:
        known = client.read_deployment_by_name(name).id
        with _deployments_lock:
            _deployments[where] = known
    return known


def forget_deployment(client: SyncPrefectClient, name: str) -> None:
    """Drop a cached id the server no longer knows (the deployment was deleted and made anew)."""
    with _deployments_lock:
        _deployments.pop((str(client.api_url), name), None)


def start_plan_run(code: str, episode: int, tags: list[str], message: str | None) -> str:
    """Create the plan's flow run (named by its case code), waiting with `message` as its state
    message. The same episode gets the same run. The embedded server creates it waiting, one
    state (`waiting_runs`); another is asked to create it Running, then to suspend it."""
    with prefect_client() as client:
        made = _start_waiting(client, code, episode, tags, message)
        if made is not None:
            return made
        for attempt in (1, 2):
            try:
                run = client.create_flow_run_from_deployment(
                    deployment_id(client, PLAN_DEPLOYMENT),
                    parameters={"case": code},
                    name=code,
                    tags=tags,
                    idempotency_key=f"{code}/{episode}",
                    state=Running(name=LAUNCHING, message="launched"),
                )
                break
            except ObjectNotFound:
                forget_deployment(client, PLAN_DEPLOYMENT)
                if attempt == 2:
                    raise
        if is_launching(run):
            # Created now, or a launch that stopped here: wait. (If this call fails, the
            # clock reschedules the run after REHAB_STALE_RUN_AFTER, and it suspends itself.)
            _wait(client, run, message)
    return str(run.id)


def _start_waiting(
    client: SyncPrefectClient, code: str, episode: int, tags: list[str], message: str | None
) -> str | None:
    """`start_plan_run` through the embedded server's route: the run created waiting, started
    at that state. None where the route cannot do it (the caller creates it as before)."""
    create = _plan_run(code, episode, tags, _waiting(message))
    done = create_waiting(client, deployment_id(client, PLAN_DEPLOYMENT), [create])
    if done is None:
        return None
    [(run_id, new)] = done
    run = client.read_flow_run(run_id)
    if new:  # what the wake that follows the launch would read back: known already
        recent.remember(run, new=True)
    elif is_launching(run):  # made by an earlier launch that stopped before it waited
        _wait(client, run, message)
    return str(run_id)


def _plan_run(
    code: str, episode: int, tags: list[str], state: State[Any]
) -> DeploymentFlowRunCreate:
    """The plan run of the case's episode, to create in `state` (its key: one run an episode)."""
    return DeploymentFlowRunCreate(
        parameters={"case": code},
        name=code,
        tags=tags,
        idempotency_key=f"{code}/{episode}",
        state=to_state_create(state),
    )


PlanRun = tuple[str, int, list[str], str | None]  # case code, episode, tags, state message


def start_plan_runs(plans: Sequence[PlanRun]) -> dict[str, str]:
    """`start_plan_run` for many plans (a bulk launch's), created in one request per hundred,
    then made to wait with their messages, one request per message and fifty runs (most
    plans launched together say the same). Returns the run ids by case code; a code missing
    there failed (the clock starts its run)."""
    messages = {code: message for code, _, _, message in plans}
    return create_runs_waiting(
        PLAN_DEPLOYMENT,
        [
            (code, _plan_run(code, episode, tags, Running(name=LAUNCHING, message="launched")))
            for code, episode, tags, _ in plans
        ],
        lambda client, runs: _wait_all(client, runs, messages),
        already=lambda code: to_state_create(_waiting(messages[code])),
    )


def _waiting(message: str | None) -> State[Any]:
    return Suspended(timeout_seconds=None, pause_key="launch", message=message or "launched")


def _wait(client: SyncPrefectClient, run: FlowRun, message: str | None) -> None:
    """A plan run just created Running: waiting, with its message, as a launch leaves it."""
    waiting = _waiting(message)
    result = client.set_flow_run_state(run.id, waiting, force=True)
    # What the wake that follows the launch would read back: known already.
    recent.remember(run.model_copy(update={"state": result.state or waiting}), new=True)


def _wait_all(
    client: SyncPrefectClient, runs: Sequence[tuple[str, FlowRun]], messages: dict[str, str | None]
) -> set[str]:
    """Plan runs just created Running, made to wait as `_wait` does: the runs with the same
    message in one request (`bulk_states`). Returns the keys of those now waiting (a run
    made by an earlier call waits already)."""
    groups: dict[str | None, list[tuple[str, FlowRun]]] = {}
    done: set[str] = set()
    for key, run in runs:
        if is_launching(run):
            groups.setdefault(messages[key], []).append((key, run))
        else:
            done.add(key)
    for message, group in groups.items():
        for page in pages(group):
            some = dict(page)
            by_id = {run.id: key for key, run in some.items()}
            try:
                states = set_states(client, list(by_id), _waiting(message), force=True)
            except (RuntimeError, httpx.HTTPError):
                continue  # tried again: at the next wake, or by the clock
            for run_id, state in states.items():
                key = by_id[run_id]
                recent.remember(some[key].model_copy(update={"state": state}), new=True)
                done.add(key)
    return done


# How runs come to wait: given (key, run) pairs of runs just made, or found made by an earlier
# call, the keys of those now waiting as they should.
WaitAll = Callable[[SyncPrefectClient, Sequence[tuple[str, FlowRun]]], set[str]]


def create_runs_waiting(
    deployment: str,
    runs: Sequence[tuple[str, DeploymentFlowRunCreate]],
    wait_all: WaitAll,
    already: Callable[[str], StateCreate] | None = None,
) -> dict[str, str]:
    """Create these runs of the deployment, a hundred to a request, and `wait_all` of them
    (those still `Launching` are new, or a creation that stopped half-way). With `already`
    (a key's waiting state), the embedded server creates them waiting and started in one
    step (flows/prefect/waiting_runs.py), where it can. Returns their ids by the caller's
    keys; a key missing there failed."""
    made: dict[str, str] = {}
    with prefect_client() as client:
        for first in range(0, len(runs), BULK_LIMIT):
            batch = runs[first : first + BULK_LIMIT]
            created, fresh = _created(client, deployment, batch, already)
            read = _read_runs(client, [r for r in created if r is not None])
            found = [
                (key, read[run_id])
                for (key, _), run_id in zip(batch, created, strict=True)
                if run_id is not None and run_id in read
            ]
            for _, run in found:
                if run.id in fresh:  # what its first wake would read back: known already
                    recent.remember(run, new=True)
            waiting = {key for key, run in found if run.id in fresh}
            waiting |= wait_all(client, [(key, run) for key, run in found if run.id not in fresh])
            made |= {key: str(run.id) for key, run in found if key in waiting}
    return made


def _created(
    client: SyncPrefectClient,
    deployment: str,
    batch: Sequence[tuple[str, DeploymentFlowRunCreate]],
    already: Callable[[str], StateCreate] | None,
) -> tuple[list[UUID | None], set[UUID]]:
    """The batch's runs created: each one's id (None: failed), and the ids of those created
    waiting by this call."""
    if already is not None:
        waiting = [create.model_copy(update={"state": already(key)}) for key, create in batch]
        done = create_waiting(client, deployment_id(client, deployment), waiting)
        if done is not None:
            return [run for run, _ in done], {run for run, new in done if new}
    body = [create.model_dump(mode="json", exclude_unset=True) for _, create in batch]
    return _bulk(client, deployment, body), set()


def is_launching(run: FlowRun) -> bool:
    """Where a creation leaves a run before it waits: created now, or stopped half-way."""
    return run.state is not None and run.state.name == LAUNCHING


def _bulk(client: SyncPrefectClient, deployment: str, body: list[Any]) -> list[UUID | None]:
    """Create these runs of the deployment in one request: each one's id, or None (failed)."""
    for attempt in (1, 2):
        try:
            response = client.request(
                "POST",
                "/deployments/{id}/create_flow_run/bulk",  # type: ignore[arg-type]  # newer than the client's list of routes
                json=body,
                path_params={"id": deployment_id(client, deployment)},
            )
            break
        except httpx.HTTPStatusError as exc:
            if exc.response.status_code != 404 or attempt == 2:
                raise
            forget_deployment(client, deployment)
    results: list[dict[str, Any]] = response.json()["results"]
    return [
        UUID(r["flow_run_id"]) if r["status"] == "CREATED" and r["flow_run_id"] else None
        for r in results
    ]


def _read_runs(client: SyncPrefectClient, ids: list[UUID]) -> dict[UUID, FlowRun]:
    if not ids:
        return {}
    runs = client.read_flow_runs(
        flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=ids)), limit=len(ids)
    )
    return {run.id: run for run in runs}
