"""New runs' first artifacts created many in one request, through the route rehab's embedded
server adds (flows/processes/prefect_server_artifacts.py); one request each where that cannot
be done (a server without the route)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import httpx
from prefect.client.orchestration import SyncPrefectClient
from prefect.client.schemas.actions import ArtifactCreate

from flows.prefect.inputs import post_bulk

BULK_ARTIFACTS_PATH = "/artifacts/bulk"
BULK_ARTIFACTS_LIMIT = 200  # as the route allows


def create_artifacts(
    client: SyncPrefectClient, artifacts: Sequence[ArtifactCreate]
) -> list[UUID | None]:
    """Create these artifacts; their ids in order (None: that one failed, said by the caller's
    next wake, which finds no row and makes it)."""
    made: list[UUID | None] = []
    for first in range(0, len(artifacts), BULK_ARTIFACTS_LIMIT):
        page = artifacts[first : first + BULK_ARTIFACTS_LIMIT]
        ids = _bulk(client, page)
        made += ids if ids is not None else [_one(client, artifact) for artifact in page]
    return made


def _bulk(client: SyncPrefectClient, page: Sequence[ArtifactCreate]) -> list[UUID | None] | None:
    """All of the page in one request (one transaction); None if that could not be done."""
    body: dict[str, Any] = {"artifacts": [a.model_dump(mode="json") for a in page]}
    response = post_bulk(client, BULK_ARTIFACTS_PATH, body)
    return None if response is None else [UUID(made) for made in response.json()]


def _one(client: SyncPrefectClient, artifact: ArtifactCreate) -> UUID | None:
    try:
        return client.create_artifact(artifact).id
    except httpx.HTTPError:
        return None
