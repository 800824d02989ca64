"""New runs' first artifacts created many in one request, through the route rehab's embedded
server adds (flows/processes/prefect_server_artifacts.py); one request each where that cannot
be done (a server without the route)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any
from uuid import UUID

import httpx
from prefect.client.orchestration import SyncPrefectClient
from prefect.client.schemas.actions import ArtifactCreate

from flows.prefect.inputs import no_such_route

BULK_ARTIFACTS_PATH = "/artifacts/bulk"
BULK_ARTIFACTS_LIMIT = 200  # as the route allows

_without_route: set[str] = set()  # API addresses whose server has no bulk route
_lock = threading.Lock()


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
    where = str(client.api_url)
    with _lock:
        if where in _without_route:
            return None
    body: dict[str, Any] = {"artifacts": [a.model_dump(mode="json") for a in page]}
    try:
        response = client.request("POST", BULK_ARTIFACTS_PATH, json=body)  # type: ignore[arg-type]  # rehab's own route
    except httpx.HTTPStatusError as exc:
        if exc.response.status_code in (404, 405) and no_such_route(exc.response):
            with _lock:
                _without_route.add(where)
        return None
    except httpx.HTTPError:
        return None
    return [UUID(made) for made in response.json()]


def _one(client: SyncPrefectClient, artifact: ArtifactCreate) -> UUID | None:
    try:
        return client.create_artifact(artifact).id
    except httpx.HTTPError:
        return None
