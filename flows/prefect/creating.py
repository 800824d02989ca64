"""Creating the engine's flow runs: a plan's run at its launch, and the runs that wait for a
person's decision, each already waiting, so no process runs until something must execute.

A run is created Running (named `Launching`), then Suspended: Prefect counts a run that never
started as late from its first state on (`estimated_start_time_delta`), so a living plan would
show "(3d late)" in the runs list; a start at its creation makes its lateness zero for good.
That Suspended state is written once, with the message the run shows. On the embedded server
a launch skips the first: its runs (one, or a bulk launch's many) are created Suspended and
started at that state, in one request (flows/prefect/waiting_runs.py)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any, cast
from uuid import UUID

import httpx
import orjson  # Prefect's own dependency: RunInput.save stores values with it
from prefect._internal.pydantic.v2_schema import create_v2_schema
from prefect.client.orchestration import SyncPrefectClient
from prefect.client.schemas.actions import DeploymentFlowRunCreate, StateCreate
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.client.schemas.objects import FlowRun, State
from prefect.exceptions import ObjectNotFound
from prefect.input import RunInput
from prefect.input.run_input import Keyset, keyset_from_paused_state
from prefect.states import Running, Suspended, to_state_create

from casework.store.decisions import Decision
from flows.prefect import recent
from flows.prefect.bulk_states import pages, set_states
from flows.prefect.client import prefect_client
from flows.prefect.inputs import store_inputs
from flows.prefect.waiting_runs import create_waiting
from flows.shown.tags import decision_tags

PLAN_FLOW, DECISION_FLOW = "rehabilitation-plan", "decision"
PLAN_DEPLOYMENT = f"{PLAN_FLOW}/rehabilitation-plan"
DECISION_DEPLOYMENT = f"{DECISION_FLOW}/decision"
LAUNCHING = "Launching"
BULK_LIMIT = 100  # the server's own limit on one bulk creation

Opening = tuple[Decision, type[RunInput], str]  # the decision, its form, the pause key

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
        if _launching(run):
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
    elif _launching(run):  # made by an earlier launch that stopped before it waited
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
    return _create_waiting(
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
        if _launching(run):
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


def open_decision_runs(openings: Sequence[Opening]) -> dict[str, str]:
    """Create the flow runs that wait for people to take these decisions, in one request per
    hundred, each already Suspended with its form, as the flow itself would suspend. The same
    decision gets the same run; a creation that stopped half-way is finished. Returns the run
    ids by the decisions' idempotency keys; a decision missing there failed (try it again)."""

    forms = {d.idempotency_key: (form, key) for d, form, key in openings}

    def waiting(client: SyncPrefectClient, runs: Sequence[tuple[str, FlowRun]]) -> set[str]:
        by_key: dict[str, list[tuple[str, FlowRun]]] = {}
        done = set()
        for made, run in runs:
            if _launching(run):
                by_key.setdefault(forms[made][1], []).append((made, run))
            elif _has_form(client, run, forms[made][0]):
                done.add(made)
        for key, group in by_key.items():  # the forms under one key wait in one request
            for page in pages(group):
                shown = [(run.id, forms[made][0]) for made, run in page]
                try:
                    waiting_now = _wait_with_forms(client, shown, key=key)
                except (RuntimeError, httpx.HTTPError):
                    continue  # tried again at the next wake
                done |= {made for made, run in page if run.id in waiting_now}
        return done

    return _create_waiting(
        DECISION_DEPLOYMENT,
        [
            (
                d.idempotency_key,
                DeploymentFlowRunCreate(
                    parameters={"case": d.case, "kind": d.kind, "scope": d.scope},
                    name=d.run_name,
                    tags=decision_tags(d.kind, manager=d.manager, supervisor=d.supervisor),
                    idempotency_key=d.idempotency_key,
                    state=to_state_create(Running(name=LAUNCHING, message="opened")),
                ),
            )
            for d, _, _ in openings
        ],
        waiting,
    )


# How runs come to wait: given (key, run) pairs of runs just made, or found made by an earlier
# call, the keys of those now waiting as they should.
WaitAll = Callable[[SyncPrefectClient, Sequence[tuple[str, FlowRun]]], set[str]]


def _create_waiting(
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


def _launching(run: FlowRun) -> bool:
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


def _wait_with_forms(
    client: SyncPrefectClient, runs: Sequence[tuple[UUID, type[RunInput]]], *, key: str
) -> set[UUID]:
    """Suspend runs with their forms, as `suspend_flow_run` does from inside a run: through
    the orchestration rules, so the key is recorded as fired and the flow, resumed, gets what
    was sent (the rules also clear what is stored under the key: the forms go after), all of
    them under the same key in one request; then each form's schema and description under
    the state's keys, as `RunInput.save` stores them. Returns the runs waiting with forms."""
    state: State[Any] = Suspended(
        timeout_seconds=None, pause_key=key, message="waiting for a person"
    )
    keyset = keyset_from_paused_state(state)
    state.state_details.run_input_keyset = {str(k): v for k, v in keyset.items()}
    forms = dict(runs)
    accepted = set_states(client, list(forms), state, force=False)
    inputs = [(run, *value) for run in accepted for value in _form_inputs(forms[run], keyset)]
    stored = store_inputs(client, inputs)
    # A run whose form is not stored waits without it: the next try stores it (`_has_form`).
    return {run for run in accepted if run in stored}


def _has_form(client: SyncPrefectClient, run: FlowRun, form: type[RunInput]) -> bool:
    """A decision run made by an earlier call: if it waits, its form stored (again: what is
    there already is kept), so a try that stopped between the state and the form is
    finished. False if that failed."""
    keyset = run.state.state_details.run_input_keyset if run.state is not None else None
    if keyset is None or run.state is None or not run.state.is_paused():
        return True  # not waiting for a form (decided, or ended)
    inputs = _form_inputs(form, cast(Keyset, keyset))
    return run.id in store_inputs(client, [(run.id, key, value) for key, value in inputs])


def _form_inputs(form: type[RunInput], keyset: Keyset) -> list[tuple[str, str]]:
    """A form's schema and description (key, stored value), as `RunInput.save` stores them."""
    schema = create_v2_schema(form.__name__, model_base=form)
    inputs = [(keyset["schema"], _json(schema))]
    description = form._description if isinstance(form._description, str) else None
    if description:
        inputs.append((keyset["description"], _json(description)))
    return inputs


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()
