"""What a plan's run shows in the Prefect UI, through its API: tags and state message, logs
and events; its timeline and progress artifacts are flows/prefect/run_artifacts.py's."""

from __future__ import annotations

import threading
from typing import Any
from uuid import UUID

from prefect.client.schemas.actions import LogCreate
from prefect.client.schemas.filters import (
    FlowRunFilter,
    FlowRunFilterId,
)
from prefect.client.schemas.objects import FlowRun, State
from prefect.exceptions import ObjectNotFound
from prefect.states import Suspended

from flows.prefect import recent
from flows.prefect.bulk_states import pages, set_states
from flows.prefect.client import prefect_client
from flows.prefect.port import LogLine
from flows.prefect.run_artifacts import read_unknown
from flows.shown.tags import retag

READ_PAGE = 200  # the API's largest page of flow runs or artifacts

# run -> the state message a wake read, which `show_messages` replaces later, and the
# engine's tags it withheld until then (None: they were already right).
_deferred: dict[UUID, tuple[str | None, list[str] | None]] = {}
_deferred_lock = threading.Lock()
_DEFERRED_MAX = 50_000  # sends that never came are forgotten past this many


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
    with prefect_client() as client:
        for first in range(0, len(ids), READ_PAGE):
            page = ids[first : first + READ_PAGE]
            for run in client.read_flow_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=page)), limit=len(page)
            ):
                recent.remember(run)
        read_unknown(client, known)


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
                if len(_deferred) >= _DEFERRED_MAX:  # sends that never came: forget them
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
