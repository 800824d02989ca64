"""The decision flow: one short run per decision waiting on a person (approval of a plan or of
an amendment, consent per scope, a due check-in's outcome, an open-ended step's completion).

The engine creates the run already suspended with a typed form (flows/prefect/decision_forms.py), so
a waiting decision costs no process. People submit it through the door, which records the decision
in the case store as theirs and ends the run (flows/door/decide.py): nothing they send
reaches Prefect. So when this flow runs, the decision is normally taken already, and it only
says so. A run resumed some other way (by whoever holds Prefect's auth string, behind the door)
decides nothing: the refusal is audited and the form waits again, under a new key.
"""

from __future__ import annotations

from dataclasses import replace

from prefect import flow, get_run_logger
from prefect.flow_runs import suspend_flow_run

from casework.services import unit_of_work
from casework.store import decisions
from flows import runtime, tending
from flows.prefect.decision_forms import waiting_form

DEPLOYMENT = "decision"


@flow(name=DEPLOYMENT, persist_result=False)
def decision(case: str, kind: str, scope: str = "") -> str:
    """Say how the decision was taken; a form resumed without the door waits again."""
    app = runtime.app()
    log = get_run_logger()
    record = decisions.get_decision(app.store, code=case, kind=kind, scope=scope)
    if record is None or record.status != "waiting":
        decisions.set_decision_run(app.store, code=case, kind=kind, scope=scope, settled=True)
        what = f"{record.decision} by {record.decided_by}" if record else "not needed"
        return f"{kind} {scope}: {what}".replace("  ", " ")
    # The engine created this run waiting with this form (no process); someone resumed it
    # without the door, so the same key is refused as fired and the suspend returns at once.
    form_type, key = waiting_form(app, record)
    suspend_flow_run(wait_for_input=form_type, key=key, timeout=None)
    record = decisions.get_decision(app.store, code=case, kind=kind, scope=scope)
    if record is not None and record.status == "waiting":
        unit_of_work.record_refusal(
            app.store,
            code=case,
            by="prefect-api",
            doing=f"decide {kind}",
            why="not-through-the-door",
            now=app.now(),
        )
        attempts = decisions.count_refusal(app.store, code=case, kind=kind, scope=scope)
        log.warning("%s of plan %s was not sent through the door; it waits", kind, case)
        again, key = waiting_form(app, replace(record, attempts=attempts))
        suspend_flow_run(wait_for_input=again, key=key, timeout=None)
        return "refused"  # not reached: suspending ends this process
    decisions.set_decision_run(app.store, code=case, kind=kind, scope=scope, settled=True)
    try:
        log.info("plan %s: %s", case, tending.tend_case(app, case))
    except Exception as exc:  # the decision is recorded; the clock does the rest
        log.warning("plan %s will follow at the next clock tick (%s)", case, type(exc).__name__)
    assert record is not None
    return f"{kind} {scope}: {record.decision} by {record.decided_by}".replace("  ", " ")
