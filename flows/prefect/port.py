"""The Prefect side of the engine as a small interface: what the clock, the CLI and the flows
ask of Prefect. `flows/prefect/ops.py` is the real one; `flows/prefect/fake.py`, beside it,
records the calls for fast tests of the engine's branches."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from prefect.client.schemas.actions import ArtifactCreate
from prefect.input import RunInput

from casework.store.decisions import Decision

LogLine = tuple[str, datetime, str]  # a plan run's id, when, what the engine did


class PrefectSide(Protocol):
    """Flow runs of plans and decisions, their artifacts and logs."""

    def start_plan_run(
        self, code: str, episode: int, tags: list[str], message: str | None = None
    ) -> str:
        """Create the plan's flow run already waiting (with `message` as its state message);
        the same episode gets the same run."""
        ...

    def start_plan_runs(
        self, plans: Sequence[tuple[str, int, list[str], str | None]]
    ) -> dict[str, str]:
        """`start_plan_run` for many plans (code, episode, tags, message) together; the run
        ids by case code, a code missing there failed."""
        ...

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
        """Show the plan's timeline and progress on its run; with `later`, the first rows of
        a run made just now are added there, for `create_artifacts` with other runs'."""
        ...

    def create_artifacts(self, artifacts: list[ArtifactCreate]) -> None:
        """Make new runs' first rows (`publish`'s `later`) together."""
        ...

    def post_logs(self, lines: list[LogLine]) -> None:
        """What the engine did, as log lines (run id, when, what) on the plans' runs, all
        together."""
        ...

    def read_ahead(self, runs: list[tuple[str, list[str]]]) -> None:
        """Read these plan runs (and their artifacts of these keys) together, for the calls of
        the wake that follow; nothing is changed."""
        ...

    def emit_events(self, events: list[dict[str, Any]]) -> None:
        """Record Prefect events (flows/shown/run_events.py) in its event store."""
        ...

    def label_run(
        self,
        flow_run_id: str,
        *,
        tags: list[str],
        message: str | None,
        later: list[tuple[str, str]] | None = None,
    ) -> None:
        """Set the engine's tags on a plan's run (keeping others' tags) and, if it waits and
        `message` is given, its state message; with `later`, a new message is added there
        (run id, message), for `show_messages` with other runs', instead of set now."""
        ...

    def show_messages(self, messages: list[tuple[str, str]]) -> None:
        """Set these plan runs' state messages (run id, message), those with the same message
        together; a run that no longer waits is left as it is."""
        ...

    def open_decision_runs(
        self, openings: Sequence[tuple[Decision, type[RunInput], str]]
    ) -> dict[str, str]:
        """Create the flow runs that wait for people to take these decisions (each with its
        form under its key; no process until one is submitted), together. Returns the run ids
        by the decisions' idempotency keys; a decision missing there failed."""
        ...

    def settle_decision_run(self, decision: Decision) -> None:
        """Tell a decision run what was decided elsewhere, or end it if no longer needed."""
        ...

    def resume_or_restart_run(
        self, flow_run_id: str, *, stale_after: timedelta, resume: bool
    ) -> str:
        """Make a plan run execute if it must; returns its state, or what was done."""
        ...

    def delete_case(self, code: str) -> int:
        """Delete every flow run of the case (plan and decisions, all episodes) and their
        artifacts (the server sweeps their logs); returns how many runs there were."""
        ...

    def cancelled_runs(self, since: datetime) -> list[str]:
        """Ids of plan and decision runs that ended Cancelled since `since`."""
        ...

    def restore_run(self, flow_run_id: str, message: str) -> None:
        """Make a cancelled run wait again as before (a decision's form included), saying
        why in its state message and logs."""
        ...
