"""`POST /api/flow_runs/input/bulk`, which rehab's embedded server adds to Prefect's API:
many runs' inputs (a tick's forms, their schemas and descriptions) stored in one request and
one transaction, as `POST /api/flow_runs/{id}/input` stores one each; an input a run has
already is kept. It sits behind the API's auth string and CSRF check like every other route,
and the door lets no one through to it (flows/door/policy.py). If a run is gone it answers
404 and stores none; the engine then stores the inputs one by one (flows/prefect/inputs.py).

Imported only by the server's process (flows/processes/prefect_server_main.py)."""

# No `from __future__ import annotations`: FastAPI reads the endpoint's annotations as objects.

from collections.abc import Callable
from typing import Annotated, Any
from uuid import UUID, uuid4

from fastapi import APIRouter, Body, Depends, HTTPException, status
from prefect.server.api import flow_runs
from prefect.server.database import PrefectDBInterface, provide_database_interface
from pydantic import BaseModel, Field
from sqlalchemy.exc import IntegrityError

from flows.prefect.inputs import BULK_INPUTS_LIMIT, BULK_INPUTS_PATH


class RunInputCreate(BaseModel):
    """One input: the run, its key, its value as stored (JSON text)."""

    flow_run_id: UUID
    key: str = Field(min_length=1, max_length=256)
    value: str = Field(max_length=1_000_000)  # a form's schema is a few kilobytes


async def create_flow_run_inputs(
    inputs: Annotated[list[RunInputCreate], Body(embed=True, max_length=BULK_INPUTS_LIMIT)],
    db: Annotated[PrefectDBInterface, Depends(provide_database_interface)],
) -> None:
    """Store the inputs in one transaction; those a run has already are kept as they are."""
    if not inputs:
        return
    rows = [{"id": uuid4(), "sender": None, **one.model_dump()} for one in inputs]
    insert = db.queries.insert(db.FlowRunInput).on_conflict_do_nothing(
        index_elements=["flow_run_id", "key"]
    )
    try:
        async with db.session_context(begin_transaction=True) as session:
            await session.execute(insert, rows)
    except IntegrityError as exc:  # the one other constraint: a run that does not exist
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Flow run not found") from exc


def add_bulk_inputs() -> None:
    """Add the route to Prefect's flow-runs router, before the server's app is made."""
    add_post_route(flow_runs.router, BULK_INPUTS_PATH, create_flow_run_inputs)


def add_post_route(router: APIRouter, path: str, endpoint: Callable[..., Any]) -> None:
    """Add `POST path` (the API's path, with the router's prefix) to one of Prefect's
    routers, once, answering 201 as Prefect's own creating routes do."""
    if any(getattr(route, "path", "") == path for route in router.routes):
        return
    router.add_api_route(
        path.removeprefix(router.prefix),
        endpoint,
        methods=["POST"],
        status_code=status.HTTP_201_CREATED,
    )
