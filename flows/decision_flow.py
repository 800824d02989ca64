"""The decision flow: one short run per decision waiting on a person (approval, consent).

It suspends with a typed form; the supervisor or case manager fills it in the Prefect UI (or
`rehab plan approve` / `rehab consent record` take the decision and tell it). The decision is
written to the case store through the same service either way, and the plan is woken.
"""

from __future__ import annotations

from prefect import flow, get_run_logger
from prefect.flow_runs import suspend_flow_run

from casework import decisions, queries, services
from flows import runtime, tending
from flows.forms import approval_form, consent_form

DEPLOYMENT = "decision"


def describe(case: str, kind: str, scope: str) -> str:
    """The markdown shown above the form: what is being decided, case code only."""
    status = queries.case_status(runtime.app().store, code=case)
    if kind == "approval":
        steps = "\n".join(
            f"- `{s['id']}` ({s['domain']}) by `{s['partner']}`" for s in status["steps"]
        )
        return (
            f"## Approve plan {case}\n\nCase manager `{status['manager']}` launched this "
            f"plan (revision {status['revision']}). Its steps:\n\n{steps}\n\n"
            f"Choose your staff id and resume to approve. `rehab plan status {case}` shows "
            "the whole timeline."
        )
    waiting = [s for s in status["steps"] if s["state"] == "awaiting-consent"]
    listed = "\n".join(f"- `{s['id']}` ({s['domain']}) by `{s['partner']}`" for s in waiting)
    return (
        f"## Consent for `{scope}`: case {case}\n\nThese steps wait for the person's "
        f"consent to **{scope}**:\n\n{listed}\n\nRecord what she or he decided after "
        "talking in person. A refusal skips these steps; the plan goes on without them."
    )


@flow(name=DEPLOYMENT, persist_result=False)
def decision(case: str, kind: str, scope: str = "") -> str:
    """Wait for a person's decision, record it in the case store, wake the plan."""
    app = runtime.app()
    log = get_run_logger()
    record = decisions.get_decision(app.store, code=case, kind=kind, scope=scope)
    if record is None or record.status != "waiting":
        decisions.set_decision_run(app.store, code=case, kind=kind, scope=scope, settled=True)
        what = f"{record.decision} by {record.decided_by}" if record else "not needed"
        return f"{kind} {scope}: {what}".replace("  ", " ")
    form_type = (
        approval_form(app.directories) if kind == "approval" else consent_form(app.directories)
    )
    form = suspend_flow_run(
        wait_for_input=form_type.with_initial_data(description=describe(case, kind, scope)),
        key=f"{kind}-{scope or 'plan'}",
        timeout=None,
    )
    record = decisions.get_decision(app.store, code=case, kind=kind, scope=scope)
    if record is not None and record.status == "waiting":  # not already taken in the CLI
        if kind == "approval":
            services.approve(
                app.store,
                app.directories,
                code=case,
                by=form.approved_by,  # type: ignore[attr-defined]  # a field of the generated form
                now=app.now(),
            )
        else:
            services.record_consent(
                app.store,
                app.directories,
                code=case,
                scopes=[scope],
                status=form.decision,  # type: ignore[attr-defined]  # a field of the generated form
                by=form.recorded_by,  # type: ignore[attr-defined]  # a field of the generated form
                now=app.now(),
            )
    decisions.set_decision_run(app.store, code=case, kind=kind, scope=scope, settled=True)
    record = decisions.get_decision(app.store, code=case, kind=kind, scope=scope)
    try:
        log.info("plan %s: %s", case, tending.tend_case(app, case))
    except Exception as exc:  # the decision is recorded; the clock does the rest
        log.warning("plan %s will follow at the next clock tick (%s)", case, type(exc).__name__)
    assert record is not None
    return f"{kind} {scope}: {record.decision} by {record.decided_by}".replace("  ", " ")
