"""The decision flow: one short run per decision waiting on a person (approval of a plan or of
an amendment, consent per scope, a due check-in's outcome, an open-ended step's completion).

It suspends with a typed form naming only those who may decide, and a field for the staff
member's one-time code. A submission is checked before anything is recorded: a wrong, expired
or used code, or someone who may not decide, leaves the decision waiting (the run suspends
again with its form, under a new key) and is in the audit log. The decision is written to the
case store through the same service as `rehab plan approve` / `rehab consent record`, and the
plan is woken.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from prefect import flow, get_run_logger
from prefect.flow_runs import suspend_flow_run
from prefect.input import RunInput
from pydantic import ValidationError

from casework import decisions, queries, services, staff_codes
from casework.access import Power, deciders
from flows import runtime, tending
from flows.app import App
from flows.form_time import submitted_at
from flows.forms import approval_form, checkin_form, completion_form, consent_form
from plans.errors import FormRefused, RehabError
from plans.model import DEFAULT_TIMEZONE

DEPLOYMENT = "decision"


def _steps(steps: list[dict[str, Any]]) -> str:
    return "\n".join(f"- `{s['id']}` ({s['domain']}) by `{s['partner']}`" for s in steps)


def describe(case: str, kind: str, scope: str) -> str:
    """The markdown shown above the form: what is being decided, case code only."""
    status = queries.case_status(runtime.app().store, code=case)
    code_hint = (
        "Choose your staff id, type the code your authenticator app shows now, and resume. "
        "A wrong or used code changes nothing: the form waits again."
    )
    if kind == "approval":
        return (
            f"## Approve plan {case}\n\nCase manager `{status['manager']}` launched this "
            f"plan (revision {status['revision']}). Its steps:\n\n{_steps(status['steps'])}"
            f"\n\n{code_hint} `rehab plan status {case}` shows the whole timeline."
        )
    if kind == "amendment":
        waiting = [s for s in status["steps"] if s["needs_approval"]]
        return (
            f"## Approve the amendment of plan {case}\n\nCase manager `{status['manager']}` "
            f"amended this plan (revision {status['revision']}). These new steps or partners "
            f"start once approved:\n\n{_steps(waiting)}\n\n{code_hint}"
        )
    if kind == "check-in":
        step_id, number = decisions.check_in_of(scope)
        step = _step(status, step_id)
        due = step["check_ins"][number - 1]["at"] if len(step["check_ins"]) >= number else None
        return (
            f"## Check-in #{number} of step `{step['id']}`: case {case}\n\n"
            f"{_steps([step])}\n\nDue {_local(due, status)}. Record how it went: attended, "
            f"missed (the supervisor is told of repeated misses) or rescheduled. {code_hint}"
        )
    if kind == "completion":
        step = _step(status, scope)
        return (
            f"## Complete step `{scope}`: case {case}\n\n{_steps([step])}\n\nThis step "
            f"stays open until someone marks its help given. Resume to mark it completed; "
            f"its partner is told. {code_hint}"
        )
    waiting = [s for s in status["steps"] if s["state"] == "awaiting-consent"]
    return (
        f"## Consent for `{scope}`: case {case}\n\nThese steps wait for the person's "
        f"consent to **{scope}**:\n\n{_steps(waiting)}\n\nRecord what she or he decided after "
        f"talking in person. A refusal skips these steps; the plan goes on without them. "
        f"{code_hint}"
    )


def _step(status: dict[str, Any], step_id: str) -> dict[str, Any]:
    return next(s for s in status["steps"] if s["id"] == step_id)


def _local(at: str | None, status: dict[str, Any]) -> str:
    """A stored UTC time as the plan's local time, with its zone."""
    if at is None:
        return "now"
    zone = ZoneInfo(status.get("timezone") or DEFAULT_TIMEZONE)
    return datetime.fromisoformat(at).astimezone(zone).strftime(f"%Y-%m-%d %H:%M {zone.key}")


FORMS = {
    "approval": approval_form,
    "amendment": approval_form,
    "consent": consent_form,
    "check-in": checkin_form,
    "completion": completion_form,
}


def form_for(app: App, case: str, kind: str) -> type[RunInput]:
    """The form, with only those who may take this decision on this case in its list."""
    status = queries.case_status(app.store, code=case)
    power: Power = "approve" if kind in ("approval", "amendment") else "act"
    eligible = deciders(
        app.directories, power=power, manager=status["manager"], supervisor=status["supervisor"]
    )
    return FORMS[kind](eligible)


def _key(kind: str, scope: str, attempts: int) -> str:
    """The suspend key of the form's showing after `attempts` refusals: a key that fired
    never waits again, so each refused submission waits under the next one."""
    return f"{kind}-{scope or 'plan'}" + (f"-{attempts}" if attempts else "")


def take(app: App, case: str, kind: str, scope: str, form: Any) -> None:
    """Check the code, then record the decision as the CLI would (roles checked there too)."""
    if form is None:
        services.record_refusal(
            app.store,
            code=case,
            by="unknown",
            doing=f"decide {kind}",
            why="form-not-valid",
            now=app.now(),
        )
        raise FormRefused(case, kind)
    by = form.approved_by if kind in ("approval", "amendment") else form.recorded_by
    sent = submitted_at(app.now())  # a code is judged by when it was typed, not checked
    staff_codes.check_code(app.store, staff=by, code=form.code, now=sent, case=case)
    if kind == "check-in":
        step_id, number = decisions.check_in_of(scope)
        services.record_checkin(
            app.store,
            app.directories,
            code=case,
            step=step_id,
            seq=number - 1,
            outcome=form.outcome,
            by=by,
            now=app.now(),
        )
    elif kind == "completion":
        services.complete_step(
            app.store, app.directories, code=case, step=scope, by=by, now=app.now()
        )
    elif kind == "consent":
        services.record_consent(
            app.store,
            app.directories,
            code=case,
            scopes=[scope],
            status=form.decision,
            by=by,
            now=app.now(),
        )
    else:
        services.approve(app.store, app.directories, code=case, by=by, now=app.now())


@flow(name=DEPLOYMENT, persist_result=False)
def decision(case: str, kind: str, scope: str = "") -> str:
    """Wait for a person's decision, check who sent it, record it, wake the plan."""
    app = runtime.app()
    log = get_run_logger()
    record = decisions.get_decision(app.store, code=case, kind=kind, scope=scope)
    if record is None or record.status != "waiting":
        decisions.set_decision_run(app.store, code=case, kind=kind, scope=scope, settled=True)
        what = f"{record.decision} by {record.decided_by}" if record else "not needed"
        return f"{kind} {scope}: {what}".replace("  ", " ")
    form_type = form_for(app, case, kind).with_initial_data(description=describe(case, kind, scope))
    try:
        form = suspend_flow_run(
            wait_for_input=form_type, key=_key(kind, scope, record.attempts), timeout=None
        )
    except ValidationError:  # what was sent does not fit the form (e.g. nobody may decide)
        form = None
    record = decisions.get_decision(app.store, code=case, kind=kind, scope=scope)
    if record is not None and record.status == "waiting":  # not already taken in the CLI
        try:
            take(app, case, kind, scope, form)
        except RehabError as exc:  # audited where it was refused; nothing was recorded
            attempts = decisions.count_refusal(app.store, code=case, kind=kind, scope=scope)
            why = exc.as_data()["error"]
            log.warning("%s of plan %s refused (%s); the decision waits", kind, case, why)
            again = form_for(app, case, kind)  # who may decide may have changed meanwhile
            suspend_flow_run(
                wait_for_input=again.with_initial_data(description=describe(case, kind, scope)),
                key=_key(kind, scope, attempts),
                timeout=None,
            )
            return "refused"  # not reached: suspending ends this process
    decisions.set_decision_run(app.store, code=case, kind=kind, scope=scope, settled=True)
    record = decisions.get_decision(app.store, code=case, kind=kind, scope=scope)
    try:
        log.info("plan %s: %s", case, tending.tend_case(app, case))
    except Exception as exc:  # the decision is recorded; the clock does the rest
        log.warning("plan %s will follow at the next clock tick (%s)", case, type(exc).__name__)
    assert record is not None
    return f"{kind} {scope}: {record.decision} by {record.decided_by}".replace("  ", " ")
