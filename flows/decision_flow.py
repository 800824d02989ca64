"""The decision flow: one short run per decision waiting on a person (approval of a plan or of
an amendment, consent per scope, a due check-in's outcome, an open-ended step's completion).

The engine creates the run already suspended with a typed form (flows/decision_forms.py)
naming only those who may decide and a field for the staff member's one-time code, so a
waiting decision costs no process; a submission resumes it, and the runner executes it.
A submission is checked before anything is recorded: a wrong, expired or used code, or
someone who may not decide, leaves the decision waiting (the run suspends again with its form,
under a new key) and is in the audit log. The decision is written to the case store through
the same service as `rehab plan approve` / `rehab consent record`, and the plan is woken.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from prefect import flow, get_run_logger
from prefect.flow_runs import suspend_flow_run
from pydantic import ValidationError

from casework import decisions, services, staff_codes
from flows import runtime, tending
from flows.app import App
from flows.decision_forms import waiting_form
from flows.form_time import submitted_at
from plans.errors import FormRefused, RehabError

DEPLOYMENT = "decision"


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
    staff_codes.check_code(
        app.store, app.directories, staff=by, code=form.code, now=sent, case=case
    )
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
    # The engine created this run already waiting with this form (no process); a submission
    # resumed it, so the same key is refused as fired and the suspend returns what was sent.
    form_type, key = waiting_form(app, record)
    try:
        form = suspend_flow_run(wait_for_input=form_type, key=key, timeout=None)
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
            # Built again: who may decide may have changed meanwhile.
            again, key = waiting_form(app, replace(record, attempts=attempts))
            suspend_flow_run(wait_for_input=again, key=key, timeout=None)
            return "refused"  # not reached: suspending ends this process
    decisions.set_decision_run(app.store, code=case, kind=kind, scope=scope, settled=True)
    record = decisions.get_decision(app.store, code=case, kind=kind, scope=scope)
    try:
        log.info("plan %s: %s", case, tending.tend_case(app, case))
    except Exception as exc:  # the decision is recorded; the clock does the rest
        log.warning("plan %s will follow at the next clock tick (%s)", case, type(exc).__name__)
    assert record is not None
    return f"{kind} {scope}: {record.decision} by {record.decided_by}".replace("  ", " ")
