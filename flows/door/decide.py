"""A decision form submitted through the door (security.md rules 1-3): the signed-in person is
who decides. The door finds the decision the run is the form of, records what she decided
through the same services as the CLI (roles checked there, refusals audited there), and only
then ends the form's run, as the CLI does. Nothing she sends is stored in Prefect."""

from __future__ import annotations

from typing import Any

from casework.services import decide
from casework.store import decisions
from casework.store.decisions import Decision
from flows import tending
from flows.app import App
from plans.errors import RehabError


class NotADecision(RehabError):
    """A resume of a run that is no decision form rehab opened (a plan's own run, or another)."""

    def __init__(self, run: str) -> None:
        self.run = run
        super().__init__(f"flow run {run} is not a decision waiting on a person")


class AlreadyDecided(RehabError):
    """A form whose decision was taken already (by someone else, or in another tab)."""

    def __init__(self, code: str, kind: str, decided: str | None) -> None:
        self.code, self.kind = code, kind
        super().__init__(
            f"the {kind} of case {code} is no longer waiting ({decided or 'not needed'})"
        )


def record(app: App, decision: Decision, *, by: str, values: dict[str, Any]) -> None:
    """Record `by`'s decision from the form's values, as the CLI would; roles are checked by
    the services, which audit a refusal and change nothing."""
    decide.record(
        app.store,
        app.directories,
        code=decision.case,
        kind=decision.kind,
        scope=decision.scope,
        values=values,
        by=by,
        now=app.now(),
    )


def submit(app: App, *, run: str, by: str, values: dict[str, Any]) -> Decision:
    """The whole submission: find, record, then let the engine end the form's run and tend the
    plan. Returns the decision as recorded."""
    decision = decisions.decision_by_run(app.store, flow_run_id=run)
    if decision is None:
        raise NotADecision(run)
    if decision.status != "waiting":
        raise AlreadyDecided(decision.case, decision.kind, decision.decision)
    record(app, decision, by=by, values=values)
    tending.tend_after_change(app, decision.case)  # settles the form's run, wakes the plan
    done = decisions.decision_by_run(app.store, flow_run_id=run)
    assert done is not None
    return done
