"""What a plan's run shows in the Prefect UI, through its API: tags and state message, the
timeline and progress artifacts (one row each, updated in place), logs and events."""

from __future__ import annotations

import threading
from contextlib import suppress
from typing import Any
from uuid import UUID

import httpx
from prefect.client.orchestration import SyncPrefectClient
from prefect.client.schemas.actions import ArtifactCreate, LogCreate
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    ArtifactFilterKey,
    FlowRunFilter,
    FlowRunFilterId,
)
from prefect.client.schemas.objects import FlowRun, State
from prefect.client.schemas.sorting import ArtifactSort
from prefect.exceptions import ObjectNotFound
from prefect.states import Suspended

from flows.prefect import recent
from flows.prefect.bulk_states import pages, set_states
from flows.prefect.client import prefect_client
from flows.prefect.new_artifacts import create_artifacts
from flows.prefect.port import LogLine
from flows.shown.tags import retag

READ_PAGE = 200  # the API's largest page of flow runs or artifacts

# (run, key) -> (artifact id, what it shows): what this process last published, so a wake
# sends only what changed and needs no read first. Lost on restart; then one read refills it.
# No id: the run has no such row (read so, or a progress of 0 not shown: `publish`).
_shown: dict[tuple[UUID, str], tuple[UUID | None, Any]] = {}
_NO_ROW = object()  # what a run without the row shows

# run -> the state message a wake read, which `show_messages` replaces later, and the
# engine's tags it withheld until then (None: they were already right).
_deferred: dict[UUID, tuple[str | None, list[str] | None]] = {}
_deferred_lock = threading.Lock()
_SHOWN_MAX = 50_000


def emit_events(events: list[dict[str, Any]]) -> None:
    """Record Prefect events in the server's event store (one request for the batch)."""
    if not events:
        return
    with prefect_client() as client:
        client.request("POST", "/events", json=events).raise_for_status()


def post_logs(lines: list[LogLine]) -> None:
    """What the engine did, as log lines on each plan's run: every run's in one request."""
    if not lines:
        return
    with prefect_client() as client:
        client.create_logs(
            [
                LogCreate(
                    name="rehab.engine",
                    level=20,
                    message=message,
                    timestamp=at,
                    flow_run_id=UUID(run_id),
                )
                for run_id, at, message in lines
            ]
        )


def read_ahead(runs: list[tuple[str, list[str]]]) -> None:
    """Read these plan runs, and the artifacts of these keys this process does not know yet,
    a page at a time, for the labelling and publishing that follow within the wake: one
    request for many runs instead of one or two each."""
    # A run this process made just now is known as its creation left it, and shows nothing.
    known = [(UUID(run_id), keys) for run_id, keys in runs if not recent.is_new(UUID(run_id))]
    ids = [run for run, _ in known]
    unknown = [(run, key) for run, keys in known for key in keys if (run, key) not in _shown]
    with prefect_client() as client:
        for first in range(0, len(ids), READ_PAGE):
            page = ids[first : first + READ_PAGE]
            for run in client.read_flow_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=page)), limit=len(page)
            ):
                recent.remember(run)
        per_page = READ_PAGE // 4  # a run's key may have a stray second row: room for it
        for first in range(0, len(unknown), per_page):
            page_keys = unknown[first : first + per_page]
            _remember(
                client,
                sorted({run for run, _ in page_keys}),
                sorted({key for _, key in page_keys}),
            )


def label_run(
    flow_run_id: str,
    *,
    tags: list[str],
    message: str | None,
    later: list[tuple[str, str]] | None = None,
) -> None:
    """Set the engine's tags on the run, keeping others' (`rehab`), and, while it waits, its
    state message: a new Suspended state only when the message changes, so the run's state
    history shows where the plan stood, not every wake. Tags are a set: an update that would
    only reorder them is not sent. With `later`, a new message is added there instead, for
    `show_messages` to send with other runs', and the tags wait to go with it: a run never
    shows a wake's tags beside the message from before it (`missed` beside `open: …`)."""
    run_id = UUID(flow_run_id)
    with prefect_client() as client:
        run = recent.take(run_id)  # as the launch left it, or as the wake read it just now
        if run is None:
            try:
                run = client.read_flow_run(run_id)
            except ObjectNotFound:  # deleted in the UI: the wake that finds it makes a new one
                return
        new = retag(run.tags, tags)
        retagged = set(new) != set(run.tags)
        state = run.state
        relabelled = (
            message is not None
            and state is not None
            and state.is_paused()
            and state.message != message
        )
        if relabelled and later is not None and message is not None and state is not None:
            with _deferred_lock:
                if len(_deferred) >= _SHOWN_MAX:  # sends that never came: forget them
                    _deferred.clear()
                # The message the new one replaces, and the tags to set with it.
                _deferred[run.id] = (state.message, tags if retagged else None)
            later.append((flow_run_id, message))
        else:
            if retagged:
                client.update_flow_run(run.id, tags=new)
                run = run.model_copy(update={"tags": new})
            if relabelled and message is not None:
                waiting = _waiting(message)
                result = client.set_flow_run_state(run.id, waiting, force=True)
                run = run.model_copy(update={"state": result.state or waiting})
        recent.remember(run)  # the wake's resume check reads it from here


def show_messages(messages: list[tuple[str, str]]) -> None:
    """Give waiting plan runs their new state messages (run id, message): the runs with the
    same message in one request (`bulk_states`), then the tags their wakes withheld. A run
    whose message changed since its wake read it (a person's change shown meanwhile) is left
    as it is: what changed it is newer. The runs are read again first, one request a page,
    and changed only if still `PAUSED` when the change reads them (a run resumed or
    cancelled meanwhile is left as it is, tags and all: what moved it labels it)."""
    if not messages:
        return
    with _deferred_lock:
        seen = {UUID(run_id): _deferred.pop(UUID(run_id), None) for run_id, _ in messages}
    with prefect_client() as client:
        now: dict[UUID, FlowRun] = {}
        ids = list(seen)
        for first in range(0, len(ids), READ_PAGE):
            page = ids[first : first + READ_PAGE]
            for found in client.read_flow_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=page)), limit=len(page)
            ):
                if found.state is not None:
                    now[found.id] = found
        by_message: dict[str, list[UUID]] = {}
        for run_id, message in messages:
            run, read = UUID(run_id), seen[UUID(run_id)]
            if run in now and read is not None and _message(now[run]) == read[0]:
                by_message.setdefault(message, []).append(run)
        relabelled: list[UUID] = []
        for message, waiting in by_message.items():
            for some in pages(waiting):
                changed = set_states(client, some, _waiting(message), force=True, only_paused=True)
                relabelled += changed
        # After the messages: whoever sees a wake's tags sees its message too.
        for run in relabelled:
            withheld = (seen.get(run) or (None, None))[1]
            if withheld is None:
                continue
            tags = retag(now[run].tags, withheld)
            if set(tags) != set(now[run].tags):
                client.update_flow_run(run, tags=tags)


def _message(run: FlowRun) -> str | None:
    return run.state.message if run.state is not None else None


def _waiting(message: str) -> State[Any]:
    """How a living plan's run waits: Suspended, saying where the plan stands."""
    return Suspended(timeout_seconds=None, pause_key="waiting", message=message)


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
