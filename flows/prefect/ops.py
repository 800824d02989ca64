"""Every call rehab makes to the Prefect API: start, wake, restart and settle flow runs (what a
run shows is in flows/prefect/publish.py and run_artifacts.py). The `PrefectApi` class is the
real `PrefectSide` (flows/prefect/port.py)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from prefect.client.orchestration import SyncPrefectClient
from prefect.client.schemas.actions import ArtifactCreate, LogCreate
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterKey,
    FlowFilter,
    FlowFilterName,
    FlowRunFilter,
    FlowRunFilterEndTime,
    FlowRunFilterName,
    FlowRunFilterState,
    FlowRunFilterStateType,
)
from prefect.client.schemas.objects import State, StateType
from prefect.exceptions import ObjectNotFound
from prefect.states import Cancelled, Cancelling, Completed, Scheduled, Suspended

from casework.store.decisions import Decision
from flows.prefect import recent
from flows.prefect.client import prefect_client
from flows.prefect.creating import (
    DECISION_FLOW,
    PLAN_FLOW,
    PlanRun,
    start_plan_run,
    start_plan_runs,
)
from flows.prefect.opening import Opening, open_decision_runs
from flows.prefect.port import LogLine
from flows.prefect.publish import emit_events, label_run, post_logs, read_ahead, show_messages
from flows.prefect.run_artifacts import create_new, publish
from flows.shown.artifacts import shown_keys


def settle_decision_run(decision: Decision) -> None:
    """End a decision run whose decision was taken elsewhere (in the CLI, or before its form
    was shown), or is no longer needed. A run someone is resuming right now finds the
    decision in the store and completes on its own."""
    if decision.flow_run_id is None:
        return
    if decision.status == "decided":
        who = f"{decision.decision} by {decision.decided_by}"
        final: State = Completed(message=f"{decision.kind} {decision.scope}: {who}".strip())
    else:
        final = Cancelled(message="no longer needed: decided in advance, or the plan ended")
    with prefect_client() as client:
        run = client.read_flow_run(UUID(decision.flow_run_id))
        if run.state is not None and (run.state.is_paused() or run.state.is_scheduled()):
            client.set_flow_run_state(UUID(decision.flow_run_id), final, force=True)


def resume_or_restart_run(flow_run_id: str, *, stale_after: timedelta, resume: bool) -> str:
    """Make a plan run execute: resume it if it sleeps (with `resume`), reschedule it if it
    crashed or has hung in Running past `stale_after`. Returns its state, or what was done;
    "deleted" if it is gone."""
    with prefect_client() as client:
        run = recent.take(UUID(flow_run_id))  # as this wake's labelling just read it
        if run is None:
            try:
                run = client.read_flow_run(UUID(flow_run_id))
            except ObjectNotFound:
                return "deleted"  # in the UI: the clock makes the plan a new run
        state = run.state
        if state is None:
            return "unknown"
        if state.is_paused():
            if not resume:
                return "suspended"
            client.resume_flow_run(UUID(flow_run_id))
            return "resumed"
        age = datetime.now(UTC) - (state.timestamp or datetime.now(UTC))
        stuck = state.type in (StateType.RUNNING, StateType.PENDING) and age > stale_after
        if state.type == StateType.CRASHED or stuck:
            client.set_flow_run_state(
                UUID(flow_run_id),
                Scheduled(message="rescheduled by the plan clock after a crash or a hang"),
                force=True,
            )
            return "restarted"
        return str(state.type.value).lower()


def delete_case(code: str) -> int:
    """Delete the case's flow runs (named by its code) and every version of its artifacts;
    returns how many runs there were. Their logs, which Prefect keeps apart, go with the
    server's orphan sweep (`rehab up` runs it hourly)."""
    page = 200  # the API's largest page
    with prefect_client() as client:
        ours: list[UUID] = []
        live: list[UUID] = []
        offset = 0
        while batch := client.read_flow_runs(
            flow_run_filter=FlowRunFilter(name=FlowRunFilterName(like_=code)),
            limit=page,
            offset=offset,
        ):
            mine = [r for r in batch if r.name == code or r.name.startswith(f"{code} · ")]
            ours += [r.id for r in mine]
            live += [r.id for r in mine if r.state is not None and _has_process(r.state)]
            offset += len(batch)
        _stop_processes(client, live)
        # The clock's sweep after a purge deletes the same things: what is gone already is
        # what the purge wanted.
        for run_id in ours:
            with suppress(ObjectNotFound):
                client.delete_flow_run(run_id)
        keys = shown_keys(code)
        while versions := client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=keys)), limit=page
        ):
            for artifact in versions:
                with suppress(ObjectNotFound):
                    client.delete_artifact(artifact.id)
    return len(ours)


def _has_process(state: State) -> bool:
    return state.type in (StateType.PENDING, StateType.RUNNING)


def _stop_processes(client: SyncPrefectClient, runs: list[UUID], wait: float = 20) -> None:
    """Have the runner end the processes of runs about to be deleted (Cancelling is what it
    watches for): a process whose run vanished under it would wait on a run that is gone and
    hold its runner's drain. What has not ended after `wait` seconds is deleted anyway."""
    for run_id in runs:
        with suppress(ObjectNotFound):
            client.set_flow_run_state(run_id, Cancelling(message="the case is erased"), force=True)
    deadline = time.monotonic() + wait
    waiting = list(runs)
    while waiting and time.monotonic() < deadline:
        time.sleep(0.5)
        still = []
        for run_id in waiting:
            with suppress(ObjectNotFound):
                state = client.read_flow_run(run_id).state
                if state is not None and state.type == StateType.CANCELLING:
                    still.append(run_id)
        waiting = still


def cancelled_runs(since: datetime) -> list[str]:
    """Plan and decision runs that ended Cancelled since `since`, whoever cancelled them (the
    engine's own cancels are of runs nothing waits on any more: the caller tells them apart)."""
    with prefect_client() as client:
        runs = client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=[PLAN_FLOW, DECISION_FLOW])),
            flow_run_filter=FlowRunFilter(
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.CANCELLED])),
                end_time=FlowRunFilterEndTime(after_=since),
            ),
            limit=200,
        )
    return [str(r.id) for r in runs]


def restore_run(flow_run_id: str, message: str) -> None:
    """Make a cancelled run wait again as it waited before: the same pause key and, for a
    decision, the same form (its stored schema is found by the same keys)."""
    run = UUID(flow_run_id)
    with prefect_client() as client:
        waited = next(
            (s for s in reversed(client.read_flow_run_states(run)) if s.is_paused()), None
        )
        details = waited.state_details if waited is not None else None
        client.set_flow_run_state(
            run,
            Suspended(
                timeout_seconds=None,
                pause_key=details.pause_key if details else "restored",
                message=message,
                state_details={"run_input_keyset": details.run_input_keyset if details else None},
            ),
            force=True,
        )
        client.create_logs(
            [
                LogCreate(
                    name="rehab.engine",
                    level=30,
                    message=message,
                    timestamp=datetime.now(UTC),
                    flow_run_id=run,
                )
            ]
        )


class PrefectApi:
    """The real Prefect side: the functions above, through the API at PREFECT_API_URL."""

    def start_plan_run(
        self, code: str, episode: int, tags: list[str], message: str | None = None
    ) -> str:
        """See `start_plan_run`."""
        return start_plan_run(code, episode, tags, message)

    def start_plan_runs(self, plans: Sequence[PlanRun]) -> dict[str, str]:
        """See `start_plan_runs`."""
        return start_plan_runs(plans)

    def publish(
        self,
        flow_run_id: str,
        *,
        key: str,
        code: str,
        markdown: str,
        progress: float,
        later: list[ArtifactCreate] | None = None,
    ) -> None:
        """See `publish`."""
        publish(flow_run_id, key=key, code=code, markdown=markdown, progress=progress, later=later)

    def create_artifacts(self, artifacts: list[ArtifactCreate]) -> None:
        """See `create_new`."""
        create_new(artifacts)

    def post_logs(self, lines: list[LogLine]) -> None:
        """See `post_logs`."""
        post_logs(lines)

    def read_ahead(self, runs: list[tuple[str, list[str]]]) -> None:
        """See `read_ahead`."""
        read_ahead(runs)

    def emit_events(self, events: list[dict[str, Any]]) -> None:
        """See `emit_events`."""
        emit_events(events)

    def label_run(
        self,
        flow_run_id: str,
        *,
        tags: list[str],
        message: str | None,
        later: list[tuple[str, str]] | None = None,
    ) -> None:
        """See `label_run`."""
        label_run(flow_run_id, tags=tags, message=message, later=later)

    def show_messages(self, messages: list[tuple[str, str]]) -> None:
        """See `show_messages`."""
        show_messages(messages)

    def open_decision_runs(self, openings: Sequence[Opening]) -> dict[str, str]:
        """See `open_decision_runs`."""
        return open_decision_runs(openings)

    def settle_decision_run(self, decision: Decision) -> None:
        """See `settle_decision_run`."""
        settle_decision_run(decision)

    def resume_or_restart_run(
        self, flow_run_id: str, *, stale_after: timedelta, resume: bool
    ) -> str:
        """See `resume_or_restart_run`."""
        return resume_or_restart_run(flow_run_id, stale_after=stale_after, resume=resume)

    def delete_case(self, code: str) -> int:
        """See `delete_case`."""
        return delete_case(code)

    def cancelled_runs(self, since: datetime) -> list[str]:
        """See `cancelled_runs`."""
        return cancelled_runs(since)

    def restore_run(self, flow_run_id: str, message: str) -> None:
        """See `restore_run`."""
        restore_run(flow_run_id, message)
