"""What a plan's run shows in Prefect after a wake: its timeline and progress, its tags and
state message, the engine's events as log lines and as Prefect events. All of it from the
wake's view of the case (casework/services/wake.py); the calls are flows/prefect/publish.py's
and run_artifacts.py's."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from prefect.client.schemas.actions import ArtifactCreate

from casework.domain.access import supervisor_now
from casework.domain.case import Case
from casework.domain.decision_kinds import KINDS
from casework.domain.events import Event
from casework.services import wake
from casework.services.unit_of_work import Changed
from casework.services.wake import Woken
from casework.store import decisions, queries
from casework.store.case_mapping import to_domain
from casework.store.repository import get_case_row
from flows.app import App
from flows.prefect.port import LogLine
from flows.shown.artifacts import artifact_key, plan_markdown, progress
from flows.shown.run_events import prefect_event
from flows.shown.tags import case_tags, quarantine_state_message, quarantine_tags, state_message


def event_lines(changed: Changed) -> list[tuple[datetime, str]]:
    """What the engine did, one line per event, for the run's logs: codes and ids only."""
    return [(e.at, e.line()) for e in changed.events]


def case_view(app: App, code: str) -> tuple[Case, str]:
    """The case's domain state, as the store has it now, and its supervisor as the directory
    stands now (the stored one while her role allows it, else the default supervisor)."""
    with app.store.session() as session:
        row = get_case_row(session, code=code)
        return to_domain(row), supervisor_now(app.directories, row.supervisor)


def labels(app: App, seen: Woken) -> tuple[list[str], str | None]:
    """The plan run's tags and, while the plan lives, its state message (an ended plan's run
    gets its final message from the flow as it ends)."""
    reason = seen.changed.quarantined
    if reason is not None or seen.case is None:  # from the row: its plan may be what broke
        tags = quarantine_tags(
            manager=seen.manager, supervisor=seen.stored_supervisor, template=seen.template
        )
        return tags, quarantine_state_message(reason or "")
    case, supervisor = seen.case, seen.supervisor
    message = None if case.ended else state_message(case, supervisor=supervisor)
    return case_tags(case, supervisor=supervisor, now=app.now()), message


@dataclass
class Gathered:
    """The log lines and Prefect events of many wakes (a tick's), sent in one request each
    once all of them are shown, instead of two requests per wake."""

    lines: list[LogLine] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    messages: list[tuple[str, str]] = field(default_factory=list)  # run id, new state message
    artifacts: list[ArtifactCreate] = field(default_factory=list)  # new runs' first rows
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(
        self,
        lines: list[LogLine],
        events: list[dict[str, Any]],
        messages: Sequence[tuple[str, str]] = (),
        artifacts: Sequence[ArtifactCreate] = (),
    ) -> None:
        """One wake's, from any thread."""
        with self._lock:
            self.lines += lines
            self.events += events
            self.messages.extend(messages)
            self.artifacts.extend(artifacts)

    def send(self, app: App) -> None:
        """Everything gathered, in one request for the new runs' first rows, one for the
        lines, one for the events, and one for the runs given the same new state message."""
        with self._lock:
            lines, self.lines = self.lines, []
            events, self.events = self.events, []
            messages, self.messages = self.messages, []
            artifacts, self.artifacts = self.artifacts, []
        if artifacts:
            app.prefect.create_artifacts(artifacts)
        app.prefect.post_logs(lines)
        app.prefect.emit_events(events)
        app.prefect.show_messages(messages)


def show(
    app: App,
    seen: Woken | str,
    flow_run_id: str,
    events: list[tuple[datetime, str]],
    happened: Sequence[Event] = (),
    *,
    gathered: Gathered | None = None,
) -> None:
    """Publish the plan's timeline and progress on its run, and the events as its logs (and,
    `happened`, as Prefect events); set its tags and state message to what is true now.
    `seen` is the wake's view of the case, or its code (read afresh). With `gathered`, the
    logs and events wait there to be sent with other wakes'."""
    if isinstance(seen, str):
        seen = wake.seen(app.store, code=seen, directories=app.directories)
    code, status = seen.code, seen.status
    if status is None:  # set aside just now, read from its row alone
        status = queries.case_status(app.store, code=code)
    waiting = [
        waiting_on(d, manager=seen.manager, supervisor=seen.supervisor) for d in seen.waiting
    ]
    new_rows: list[ArtifactCreate] = []
    app.prefect.publish(
        flow_run_id,
        key=artifact_key(code),
        code=code,
        markdown=plan_markdown(status, waiting),
        progress=progress(status),
        later=new_rows,
    )
    tags, message = labels(app, seen)
    new_message: list[tuple[str, str]] = []
    app.prefect.label_run(flow_run_id, tags=tags, message=message, later=new_message)
    mine = Gathered() if gathered is None else gathered
    mine.add(
        [(flow_run_id, at, line) for at, line in events],
        [prefect_event(code, flow_run_id, e) for e in happened],
        new_message,
        new_rows,
    )
    if gathered is None:
        mine.send(app)


def waiting_on(decision: decisions.Decision, *, manager: str, supervisor: str) -> str:
    """`check-in · psych #1: the case manager n-zdolnik`: what waits, on whom (its form's
    run name without the case code)."""
    what = decision.run_name.removeprefix(f"{decision.case} · ")
    if KINDS[decision.kind].power == "approve":
        return f"{what}: the supervisor `{supervisor}`"
    return f"{what}: the case manager `{manager}`"
