"""The plan flow: one run per plan, alive for the plan's life, a reconcile loop over the store.

Each wake re-runs this flow from the top: reconcile with the store, open or settle decisions,
publish the artifacts, then suspend (no process held) until the clock or a person wakes it.
Tasks run again on every wake with the same input, so none may be cached.
"""

from __future__ import annotations

from typing import Any

from prefect import State, flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_progress_artifact
from prefect.cache_policies import NO_CACHE
from prefect.flow_runs import suspend_flow_run
from prefect.states import Cancelled

from casework import queries, services
from casework.store.repository import Conflict
from flows import runtime
from flows.artifacts import artifact_key, plan_markdown, progress
from flows.prefect_ops import tend_decisions

DEPLOYMENT = "rehabilitation-plan"


@task(cache_policy=NO_CACHE, persist_result=False)
def reconcile(case: str) -> dict[str, Any]:
    """Apply everything due now to the case; a racing change by a person means: try again."""
    app = runtime.app()
    for attempt in range(5):
        try:
            outcome = services.reconcile(app.store, code=case, now=app.now())
            break
        except Conflict:
            if attempt == 4:
                raise
    log = get_run_logger()
    for event in outcome.events:
        log.info("%s %s%s", event.kind, event.step or "", f" ({event.detail})"
                 if event.detail else "")
    return {"state": outcome.state, "wake_at": outcome.wake_at}


@task(cache_policy=NO_CACHE, persist_result=False)
def tend(case: str) -> None:
    """Open a decision run for each decision the case waits on; close those already taken."""
    app = runtime.app()
    for name in tend_decisions(app.store, code=case, now=app.now(), open_new=True):
        get_run_logger().warning("could not open or settle %s; next wake tries again", name)


@task(cache_policy=NO_CACHE, persist_result=False)
def publish(case: str) -> None:
    """Update the plan's markdown and progress artifacts."""
    status = queries.case_status(runtime.app().store, code=case)
    waiting = ["approval"] if status["state"] == "awaiting-approval" else []
    waiting += [f"consent · {scope}" for scope in status["waiting_consent"]]
    key = artifact_key(case)
    create_markdown_artifact(plan_markdown(status, waiting), key=key,
                             description=f"Plan {case}: timeline and states")
    create_progress_artifact(progress(status), key=f"{key}-progress",
                             description=f"Plan {case}: share of steps ended")


@flow(name=DEPLOYMENT, persist_result=False, log_prints=False)
def rehabilitation_plan(case: str) -> State | str:
    """Carry one plan for its whole life; each wake reconciles and sleeps again."""
    now = reconcile(case)
    tend(case)
    publish(case)
    state = now["state"]
    if state == "completed":
        return f"plan {case} completed"
    if state == "cancelled":
        return Cancelled(message=f"plan {case} cancelled: consent withdrawn")
    if state == "terminated":
        return Cancelled(name="Terminated", message=f"plan {case} terminated: rule breached")
    # Fresh key per wake: the store counts wakes, so a re-run never reuses a resumed key.
    wakes = queries.wake_count(runtime.app().store, code=case)
    suspend_flow_run(key=f"wake-{wakes}", timeout=None)
    return f"plan {case} woke"  # not reached: suspending ends this process
