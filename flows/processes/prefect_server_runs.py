"""`POST /api/flow_runs/bulk_waiting`, which rehab's embedded server adds to Prefect's API: a
bulk launch's plan runs created in one request and one transaction, each already waiting in
the (paused) state it is given and started at that state, as
`POST /api/deployments/{id}/create_flow_run/bulk` creates a run and a second state then parks
it: one state written a run instead of two. A run's start is its first state's time, so the
runs list counts it as on time, never late (flows/prefect/creating.py says why that matters).
The same idempotency key gives the run made before, untouched. It sits behind the API's auth
string and CSRF check like every other route, and the door lets no one through to it
(flows/door/policy.py). A server without it gets Prefect's own bulk creation.

Imported only by the server's process (flows/processes/prefect_server_main.py)."""

# No `from __future__ import annotations`: FastAPI reads the endpoint's annotations as objects.

from typing import Annotated
from uuid import UUID

from fastapi import Body, Depends, HTTPException, status
from prefect.server import models
from prefect.server.api import flow_runs as flow_runs_api
from prefect.server.database import PrefectDBInterface, provide_database_interface
from prefect.server.schemas import actions, core
from prefect.server.schemas.states import StateType
from pydantic import BaseModel

from flows.prefect.waiting_runs import BULK_WAITING_LIMIT, BULK_WAITING_PATH
from flows.processes.prefect_server_inputs import add_post_route

# Set from the deployment, as Prefect's own bulk creation sets them.
FROM_THE_DEPLOYMENT = {
    "parameters",
    "tags",
    "infrastructure_document_id",
    "work_queue_name",
    "enforce_parameter_schema",
}


class Made(BaseModel):
    """One run: its id, and whether this request created it (not an earlier one)."""

    id: UUID
    created: bool


async def create_waiting_flow_runs(
    deployment_id: Annotated[UUID, Body()],
    flow_runs: Annotated[
        list[actions.DeploymentFlowRunCreate], Body(max_length=BULK_WAITING_LIMIT)
    ],
    db: Annotated[PrefectDBInterface, Depends(provide_database_interface)],
) -> list[Made]:
    """Create the runs in one transaction, all of them or, on an error, none; their ids in
    order. The parameters given go over the deployment's (rehab's deployments have no
    templated values to hydrate)."""
    if any(run.state is None or run.state.type != StateType.PAUSED for run in flow_runs):
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_ENTITY, "every run is created waiting (PAUSED)"
        )
    made = []
    async with db.session_context(begin_transaction=True) as session:
        # Prefect's db_injector hides these coroutines' types from mypy.
        deployment = await models.deployments.read_deployment(  # type: ignore[attr-defined]
            session=session, deployment_id=deployment_id
        )
        if deployment is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "Deployment not found")
        for one in flow_runs:
            run = core.FlowRun(
                **one.model_dump(exclude=FROM_THE_DEPLOYMENT),
                flow_id=deployment.flow_id,
                deployment_id=deployment.id,
                deployment_version=deployment.version,
                parameters={**deployment.parameters, **one.parameters},
                tags=set(deployment.tags).union(one.tags),
                infrastructure_document_id=deployment.infrastructure_document_id,
                work_queue_name=deployment.work_queue_name,
                work_queue_id=deployment.work_queue_id,
            )
            assert run.state is not None  # checked above
            run.start_time = run.state.timestamp
            model = await models.flow_runs.create_flow_run(  # type: ignore[attr-defined]
                session=session, flow_run=run
            )
            # A run the same key made before keeps its own start.
            made.append(Made(id=model.id, created=model.start_time == run.start_time))
    return made


def add_bulk_waiting_runs() -> None:
    """Add the route to Prefect's flow-runs router, before the server's app is made."""
    add_post_route(flow_runs_api.router, BULK_WAITING_PATH, create_waiting_flow_runs)
