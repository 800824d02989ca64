"""A recording fake of the Prefect side, for fast tests of the engine's branches: it keeps the runs
it made and the calls it had, answers `resume_or_restart_run` with the state it is told, and
fails the calls it is told to fail (as an unreachable server would)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from prefect.client.schemas.actions import ArtifactCreate
from prefect.input import RunInput

from casework.store.decisions import Decision
from flows.prefect.port import LogLine
from flows.shown.tags import retag


class PrefectDown(ConnectionError):
    """What the fake raises for a call it was told to fail."""


@dataclass
class RecordingPrefect:
    """Flow runs as a dict; every call appended to `calls` as (name, first argument)."""

    failing: set[str] = field(default_factory=set)  # names of calls that raise PrefectDown
    states: dict[str, str] = field(default_factory=dict)  # run id -> what it answers
    runs: dict[str, str] = field(default_factory=dict)  # run id -> its name
    calls: list[tuple[str, str]] = field(default_factory=list)
    published: dict[str, list[tuple[datetime, str]]] = field(default_factory=dict)
    tags: dict[str, list[str]] = field(default_factory=dict)  # run id -> its tags
    messages: dict[str, str] = field(default_factory=dict)  # run id -> its state message
    pending: dict[int, str] = field(default_factory=dict)  # a `later` artifact -> its run
    withheld: dict[str, list[str]] = field(default_factory=dict)  # run -> tags set with its message
    emitted: list[dict[str, Any]] = field(default_factory=list)  # Prefect events, in order
    timelines: dict[str, str] = field(default_factory=dict)  # run id -> its timeline markdown
    forms: dict[str, tuple[type[RunInput], str]] = field(default_factory=dict)  # run -> form, key

    def _call(self, name: str, subject: str) -> None:
        self.calls.append((name, subject))
        if name in self.failing:
            raise PrefectDown(name)

    def called(self, name: str) -> list[str]:
        """The subjects of every call of `name`, in order."""
        return [subject for call, subject in self.calls if call == name]

    def start_plan_run(
        self, code: str, episode: int, tags: list[str], message: str | None = None
    ) -> str:
        """A run id per case and episode, as the idempotency key makes it."""
        self._call("start_plan_run", code)
        run_id = f"run-{code}-{episode}"
        self.runs[run_id] = code
        if self.states.get(run_id, "deleted") == "deleted":  # new, or made again
            self.states[run_id] = "suspended"
            self.tags[run_id] = ["rehab", *tags]  # the deployment's tag, as served
            if message is not None:
                self.messages[run_id] = message
        return run_id

    def start_plan_runs(
        self, plans: Sequence[tuple[str, int, list[str], str | None]]
    ) -> dict[str, str]:
        """The request recorded as `start_plan_runs` (how many), then each plan as by
        `start_plan_run` (each may be told to fail)."""
        self.calls.append(("start_plan_runs", str(len(plans))))
        started = {}
        for code, episode, tags, message in plans:
            try:
                started[code] = self.start_plan_run(code, episode, tags, message)
            except PrefectDown:
                continue
        return started

    def emit_events(self, events: list[dict[str, Any]]) -> None:
        """Keep them."""
        self._call("emit_events", str(len(events)))
        self.emitted.extend(events)

    def label_run(
        self,
        flow_run_id: str,
        *,
        tags: list[str],
        message: str | None,
        later: list[tuple[str, str]] | None = None,
    ) -> None:
        """Keep the tags as the real run would have them, and the message of a waiting run
        (or, with `later`, a new one there, for `show_messages`, the tags waiting with it)."""
        self._call("label_run", flow_run_id)
        relabelled = (
            message is not None
            and self._waits(flow_run_id)
            and self.messages.get(flow_run_id) != message
        )
        if relabelled and later is not None and message is not None:
            self.withheld[flow_run_id] = tags
            later.append((flow_run_id, message))
            return
        self.tags[flow_run_id] = retag(self.tags.get(flow_run_id, []), tags)
        if relabelled and message is not None:
            self.messages[flow_run_id] = message

    def show_messages(self, messages: list[tuple[str, str]]) -> None:
        """Keep the messages of the runs that still wait, and then the tags withheld."""
        self._call("show_messages", str(len(messages)))
        for flow_run_id, message in messages:
            withheld = self.withheld.pop(flow_run_id, None)
            if self._waits(flow_run_id):
                self.messages[flow_run_id] = message
                if withheld is not None:
                    self.tags[flow_run_id] = retag(self.tags.get(flow_run_id, []), withheld)

    def _waits(self, flow_run_id: str) -> bool:
        return self.states.get(flow_run_id, "suspended") == "suspended"

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
        """Keep the timeline shown on the run (with `later`, once `create_artifacts` makes
        it, if the run shows none yet)."""
        self._call("publish", flow_run_id)
        if later is not None and flow_run_id not in self.timelines:
            later.append(ArtifactCreate(key=key, type="markdown", data=markdown))
            self.pending[id(later[-1])] = flow_run_id
            return
        self.timelines[flow_run_id] = markdown

    def create_artifacts(self, artifacts: list[ArtifactCreate]) -> None:
        """Keep the timelines they show (recorded as how many)."""
        self._call("create_artifacts", str(len(artifacts)))
        for artifact in artifacts:
            self.timelines[self.pending.pop(id(artifact))] = str(artifact.data)

    def post_logs(self, lines: list[LogLine]) -> None:
        """Keep the event lines shown on each run."""
        self._call("post_logs", str(len(lines)))
        for run_id, at, message in lines:
            self.published.setdefault(run_id, []).append((at, message))

    def read_ahead(self, runs: list[tuple[str, list[str]]]) -> None:
        """Record it: the fake reads nothing."""
        self._call("read_ahead", str(len(runs)))

    def open_decision_runs(
        self, openings: Sequence[tuple[Decision, type[RunInput], str]]
    ) -> dict[str, str]:
        """Runs named as the real ones are, each waiting with its form under its key; the
        request recorded as `open_decision_runs` (how many), then one `open_decision_run` per
        decision (each may be told to fail)."""
        self.calls.append(("open_decision_runs", str(len(openings))))
        opened = {}
        for decision, form, key in openings:
            try:
                self._call("open_decision_run", decision.run_name)
            except PrefectDown:
                continue
            run_id = f"decision-{decision.idempotency_key}"
            self.runs[run_id] = decision.run_name
            self.forms[run_id] = (form, key)
            opened[decision.idempotency_key] = run_id
        return opened

    def settle_decision_run(self, decision: Decision) -> None:
        """Record it."""
        self._call("settle_decision_run", decision.run_name)

    def resume_or_restart_run(
        self, flow_run_id: str, *, stale_after: timedelta, resume: bool
    ) -> str:
        """The state it was told, or "resumed" when asked to resume a suspended run."""
        self._call("resume_or_restart_run", flow_run_id)
        state = self.states.get(flow_run_id, "suspended")
        if state == "suspended" and resume:
            self.states[flow_run_id] = "running"
            return "resumed"
        return state

    def delete_case(self, code: str) -> int:
        """Forget the case's runs."""
        self._call("delete_case", code)
        gone = [r for r, name in self.runs.items() if name == code or name.startswith(f"{code} · ")]
        for run_id in gone:
            del self.runs[run_id]
            self.published.pop(run_id, None)
        return len(gone)

    def cancelled_runs(self, since: datetime) -> list[str]:
        """Runs it was told are cancelled."""
        self._call("cancelled_runs", since.isoformat())
        return [run for run, state in self.states.items() if state == "cancelled"]

    def restore_run(self, flow_run_id: str, message: str) -> None:
        """Waiting again, as the real one leaves it."""
        self._call("restore_run", flow_run_id)
        self.states[flow_run_id] = "suspended"
        self.published.setdefault(flow_run_id, []).append((datetime.now(UTC), message))
