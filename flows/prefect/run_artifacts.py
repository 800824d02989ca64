"""A plan's run's timeline and progress in the Prefect UI: one artifact row each, updated in
place, and what this process last showed on each, so a wake sends only what changed."""

from __future__ import annotations

from contextlib import suppress
from typing import Any
from uuid import UUID

import httpx
from prefect.client.orchestration import SyncPrefectClient
from prefect.client.schemas.actions import ArtifactCreate
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    ArtifactFilterKey,
)
from prefect.client.schemas.sorting import ArtifactSort
from prefect.exceptions import ObjectNotFound

from flows.prefect import recent
from flows.prefect.client import prefect_client
from flows.prefect.new_artifacts import create_artifacts

READ_PAGE = 200  # the API's largest page of artifacts

# (run, key) -> (artifact id, what it shows): what this process last published, so a wake
# sends only what changed and needs no read first. Lost on restart; then one read refills it.
# No id: the run has no such row (read so, or a progress of 0 not shown: `publish`).
_shown: dict[tuple[UUID, str], tuple[UUID | None, Any]] = {}
_NO_ROW = object()  # what a run without the row shows
_SHOWN_MAX = 50_000


def read_unknown(client: SyncPrefectClient, runs: list[tuple[UUID, list[str]]]) -> None:
    """Read the artifacts of these runs' keys that this process does not know yet, a page at
    a time (for the publishing that follows within the wake)."""
    unknown = [(run, key) for run, keys in runs for key in keys if (run, key) not in _shown]
    per_page = READ_PAGE // 4  # a run's key may have a stray second row: room for it
    for first in range(0, len(unknown), per_page):
        page_keys = unknown[first : first + per_page]
        _remember(
            client,
            sorted({run for run, _ in page_keys}),
            sorted({key for _, key in page_keys}),
        )


def publish(
    flow_run_id: str,
    *,
    key: str,
    code: str,
    markdown: str,
    progress: float,
    later: list[ArtifactCreate] | None = None,
) -> None:
    """Show the plan's timeline and progress on its run (its log lines go with `post_logs`).
    Each artifact is one row, updated in place: a living run is never vacuumed, so a new
    version per wake would grow Prefect's database for the plan's whole life. An update is a
    plain PATCH, without the client's `prefect.artifact.updated` event: the Event Feed tells
    the plan's story, not each redraw of its timeline. The progress row is made when the
    first step ends: until then the timeline alone says that none has (one request less for
    every launch). With `later`, a run this process made just now gets its first rows there,
    for `create_new` to make with other new runs' in one request."""
    run = UUID(flow_run_id)
    shown: list[tuple[str, str, Any, str]] = [
        (key, "markdown", markdown, f"Plan {code}: timeline and states"),
        (f"{key}-progress", "progress", progress, f"Plan {code}: share of steps ended"),
    ]
    with prefect_client() as client:
        new_run = recent.claim_new(run)  # made by this process just now: shows nothing yet
        unknown = [k for k, *_ in shown if (run, k) not in _shown]
        if unknown and not new_run:
            _remember(client, [run], unknown)
        for artifact_key_, kind, data, description in shown:
            known = _shown.get((run, artifact_key_))
            if known is not None and known[1] == data:
                continue
            if known is not None and known[0] is not None:
                if _patched(client, known[0], data, description):
                    _shown[(run, artifact_key_)] = (known[0], data)
                    continue
            elif kind == "progress" and not data:
                _shown[(run, artifact_key_)] = (None, data)  # no row, and none needed yet
                continue
            made = ArtifactCreate(
                key=artifact_key_, type=kind, data=data, flow_run_id=run, description=description
            )
            if new_run and later is not None:
                later.append(made)
                continue
            kept = client.create_artifact(made).id
            if not new_run:
                # The clock and the plan's own run may both have found no row and made one.
                # A run this process made just now has no other follower: its launcher
                # holds the clock off until it is done (engine_client.LAUNCHER_FOLLOWS_UP).
                row = _one_row(client, run, artifact_key_)
                if row is None or (
                    row[1] != data and not _patched(client, row[0], data, description)
                ):
                    continue  # deleted meanwhile (the case erased): nothing left to show on
                kept = row[0]
            if len(_shown) >= _SHOWN_MAX:
                _shown.clear()
            _shown[(run, artifact_key_)] = (kept, data)


def create_new(artifacts: list[ArtifactCreate]) -> None:
    """Make new runs' first rows (`publish`'s `later`) in one request a page, and remember
    them; one not made is made by its run's next wake, which finds no row."""
    if not artifacts:
        return
    with prefect_client() as client:
        made = create_artifacts(client, artifacts)
    if len(_shown) + len(artifacts) >= _SHOWN_MAX:
        _shown.clear()
    for artifact, kept in zip(artifacts, made, strict=True):
        if kept is not None and artifact.flow_run_id is not None and artifact.key is not None:
            _shown[(artifact.flow_run_id, artifact.key)] = (kept, artifact.data)


def _remember(client: SyncPrefectClient, runs: list[UUID], keys: list[str]) -> None:
    """Read the runs' artifacts of these keys (the newest of each: what the UI shows)."""
    found = client.read_artifacts(
        artifact_filter=ArtifactFilter(
            key=ArtifactFilterKey(any_=keys), flow_run_id=ArtifactFilterFlowRunId(any_=runs)
        ),
        sort=ArtifactSort.CREATED_DESC,
        limit=READ_PAGE,
    )
    if len(_shown) + len(runs) * len(keys) >= _SHOWN_MAX:
        _shown.clear()
    for artifact in found:
        where = (artifact.flow_run_id, artifact.key)
        if artifact.key is not None and artifact.flow_run_id is not None and where not in _shown:
            _shown[(artifact.flow_run_id, artifact.key)] = (artifact.id, artifact.data)
    if len(found) < READ_PAGE:  # all there is: the others have no row
        for where in ((run, key) for run in runs for key in keys):
            _shown.setdefault(where, (None, _NO_ROW))


def _one_row(client: SyncPrefectClient, run: UUID, key: str) -> tuple[UUID, Any] | None:
    """Keep one row of the run's artifact: the oldest. The plan's run and the clock may both
    find no row at a plan's first wake and both create one; each then deletes all but the
    oldest (id breaks a tie), so they agree on the row that stays, whichever runs first."""
    rows = client.read_artifacts(
        artifact_filter=ArtifactFilter(
            key=ArtifactFilterKey(any_=[key]), flow_run_id=ArtifactFilterFlowRunId(any_=[run])
        ),
        sort=ArtifactSort.CREATED_DESC,
        limit=50,
    )
    if not rows:
        return None
    rows.sort(key=lambda row: (row.created, str(row.id)))
    for extra in rows[1:]:
        with suppress(ObjectNotFound):  # the other writer deleted it first
            client.delete_artifact(extra.id)
    return rows[0].id, rows[0].data


def _patched(client: SyncPrefectClient, artifact_id: UUID, data: Any, description: str) -> bool:
    """Update an artifact in place; False if it is gone (deleted meanwhile)."""
    try:
        client.request(
            "PATCH",
            "/artifacts/{id}",
            json={"data": data, "description": description},
            path_params={"id": artifact_id},
        )
    except httpx.HTTPStatusError as exc:
        if exc.response.status_code == 404:
            return False
        raise
    return True
