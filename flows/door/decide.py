"""A decision form submitted through the door (security.md rules 1-3): the signed-in person is
who decides. The door finds the decision the run is the form of, records what she decided
through the same services as the CLI (roles checked there, refusals audited there), and only
then ends the form's run, as the CLI does. Nothing she sends is stored in Prefect."""

from __future__ import annotations

from typing import Any, Literal, cast

from casework.services import engine, recording
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


class ValueRefused(RehabError):
    """A form value outside what the decision can be."""

    def __init__(self, code: str, kind: str, field: str, valid: list[str]) -> None:
        self.code, self.kind, self.field = code, kind, field
        super().__init__(
            f"the {kind} form of case {code} needs {field}: one of {', '.join(valid)}; "
            "nothing was recorded"
        )


def _choice(decision: Decision, values: dict[str, Any], field: str, valid: list[str]) -> str:
    value = values.get(field)
    if value not in valid:
        raise ValueRefused(decision.case, decision.kind, field, valid)
    return str(value)


def record(app: App, decision: Decision, *, by: str, values: dict[str, Any]) -> None:
    """Record `by`'s decision from the form's values, as the CLI would; roles are checked by
    the services, which audit a refusal and change nothing."""
    case, kind, scope, now = decision.case, decision.kind, decision.scope, app.now()
    if kind == "check-in":
        step_id, number = decisions.check_in_of(scope)
        outcome = cast(
            Literal["attended", "missed", "rescheduled"],
            _choice(decision, values, "outcome", ["attended", "missed", "rescheduled"]),
        )
        recording.record_checkin(
            app.store,
            app.directories,
            code=case,
            step=step_id,
            seq=number - 1,
            outcome=outcome,
            by=by,
            now=now,
        )
    elif kind == "completion":
        recording.complete_step(app.store, app.directories, code=case, step=scope, by=by, now=now)
    elif kind == "consent":
        status = cast(
            Literal["given", "refused"], _choice(decision, values, "decision", ["given", "refused"])
        )
        recording.record_consent(
            app.store, app.directories, code=case, scopes=[scope], status=status, by=by, now=now
        )
    else:
        recording.approve(app.store, app.directories, code=case, by=by, now=now)


def submit(app: App, *, run: str, by: str, values: dict[str, Any]) -> Decision:
    """The whole submission: find, record, then let the engine end the form's run and tend the
    plan. Returns the decision as recorded."""
    decision = decisions.decision_by_run(app.store, flow_run_id=run)
    if decision is None:
        raise NotADecision(run)
    if decision.status != "waiting":
        raise AlreadyDecided(decision.case, decision.kind, decision.decision)
    record(app, decision, by=by, values=values)
    try:
        tending.tend_case(app, decision.case)  # settles the form's run, wakes the plan
    except Exception:  # recorded in the store; the clock ends the run
        engine.look_again(app.store, code=decision.case, at=app.now())
    done = decisions.decision_by_run(app.store, flow_run_id=run)
    assert done is not None
    return done
