"""`POST /api/artifacts/bulk`, which rehab's embedded server adds to Prefect's API: the first
artifacts of many new plan runs (a bulk launch's timelines) created in one request and one
transaction, each as `POST /api/artifacts/` creates one; their ids in order. It sits behind the
API's auth string and CSRF check like every other route, and the door lets no one through to
it (flows/door/policy.py). A server without it gets one request each
(flows/prefect/new_artifacts.py).

Imported only by the server's process (flows/processes/prefect_server_main.py)."""

# No `from __future__ import annotations`: FastAPI reads the endpoint's annotations as objects.

from typing import Annotated
from uuid import UUID

from fastapi import Body, Depends
from prefect.server import models
from prefect.server.api import artifacts as artifacts_api
from prefect.server.database import PrefectDBInterface, provide_database_interface
from prefect.server.schemas import actions, core

from flows.prefect.new_artifacts import BULK_ARTIFACTS_LIMIT, BULK_ARTIFACTS_PATH
from flows.processes.prefect_server_inputs import add_post_route


async def create_artifacts(
    artifacts: Annotated[
        list[actions.ArtifactCreate], Body(embed=True, max_length=BULK_ARTIFACTS_LIMIT)
    ],
    db: Annotated[PrefectDBInterface, Depends(provide_database_interface)],
) -> list[UUID]:
    """Create the artifacts in one transaction; all of them or, on an error, none."""
    ids = []
    async with db.session_context(begin_transaction=True) as session:
        for one in artifacts:
            model = await models.artifacts.create_artifact(
                session=session, artifact=core.Artifact(**one.model_dump())
            )
            ids.append(model.id)
    return ids


def add_bulk_artifacts() -> None:
    """Add the route to Prefect's artifacts router, before the server's app is made."""
    add_post_route(artifacts_api.router, BULK_ARTIFACTS_PATH, create_artifacts)
