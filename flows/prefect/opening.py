"""Creating the runs that wait for a person's decision: each already Suspended with its form
(its schema and description stored under the state's keys), as the flow itself would suspend,
a hundred to a request (flows/prefect/creating.py makes them)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast
from uuid import UUID

import httpx
import orjson  # Prefect's own dependency: RunInput.save stores values with it
from prefect._internal.pydantic.v2_schema import create_v2_schema
from prefect.client.orchestration import SyncPrefectClient
from prefect.client.schemas.actions import DeploymentFlowRunCreate
from prefect.client.schemas.objects import FlowRun, State
from prefect.input import RunInput
from prefect.input.run_input import Keyset, keyset_from_paused_state
from prefect.states import Running, Suspended, to_state_create

from casework.store.decisions import Decision
from flows.prefect.bulk_states import pages, set_states
from flows.prefect.creating import DECISION_DEPLOYMENT, LAUNCHING, create_runs_waiting, is_launching
from flows.prefect.inputs import store_inputs
from flows.shown.tags import decision_tags

Opening = tuple[Decision, type[RunInput], str]  # the decision, its form, the pause key


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
            if is_launching(run):
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

    return create_runs_waiting(
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
