"""Plan runs created already waiting, many in one request, through the route rehab's embedded
server adds (flows/processes/prefect_server_runs.py); None where that cannot be done (a server
without the route), and the caller creates them as Prefect's own bulk creation does."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from prefect.client.orchestration import SyncPrefectClient
from prefect.client.schemas.actions import DeploymentFlowRunCreate

from flows.prefect.inputs import post_bulk

BULK_WAITING_PATH = "/flow_runs/bulk_waiting"
BULK_WAITING_LIMIT = 100  # as the route allows; as Prefect's own bulk creation allows


def create_waiting(
    client: SyncPrefectClient, deployment: UUID, runs: Sequence[DeploymentFlowRunCreate]
) -> list[tuple[UUID, bool]] | None:
    """Create these runs of the deployment, each in its waiting state, in one request: each
    one's id and whether it was created now (not by an earlier call with its key); None if
    that could not be done."""
    body = {
        "deployment_id": str(deployment),
        "flow_runs": [run.model_dump(mode="json", exclude_unset=True) for run in runs],
    }
    response = post_bulk(client, BULK_WAITING_PATH, body)
    if response is None:
        return None
    return [(UUID(made["id"]), bool(made["created"])) for made in response.json()]
