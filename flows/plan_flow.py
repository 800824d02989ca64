"""The plan flow: one run per plan, alive for the plan's life.

A launch creates the run started and Suspended, with no process (flows/prefect/ops.py); while
the plan lives, the engine's clock does time's work on the case store and shows it on this run
(flows/tending.py), without a process.
The run executes when the plan has ended, to end in its state, or after a crash: it then
reconciles, tends decisions, publishes, and suspends again if the plan goes on. Tasks run
again on every execution with the same input, so none may be cached.
"""

from __future__ import annotations

from typing import Any

from prefect import State, flow, get_client, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.context import FlowRunContext
from prefect.exceptions import Abort
from prefect.flow_runs import suspend_flow_run
from prefect.runtime import flow_run
from prefect.states import Cancelled, Completed
from prefect.utilities.engine import propose_state_sync

from casework.services import engine
from casework.store import queries
from flows import runtime, showing, tending
from flows.prefect import decision_runs
from flows.shown.tags import state_message

DEPLOYMENT = "rehabilitation-plan"


@task(cache_policy=NO_CACHE, persist_result=False)
def reconcile(case: str) -> dict[str, Any]:
    """Apply everything due now to the case."""
    woken = tending.reconcile(runtime.app(), case)
    log = get_run_logger()
    for _, line in showing.event_lines(woken.changed):
        log.info("%s", line)
    # How an ended plan ended, from the wake's view: its run's final message.
    message = None
    if woken.case is not None and woken.changed.state in tending.FINAL:
        message = state_message(woken.case, supervisor=woken.supervisor)
    return {"state": woken.changed.state, "wake_at": woken.changed.wake_at, "message": message}


@task(cache_policy=NO_CACHE, persist_result=False)
def tend(case: str) -> None:
    """Open a decision run for each decision the case waits on; close those already taken."""
    app = runtime.app()
    for name in decision_runs.sync_decision_runs(app, code=case, open_new=True):
        get_run_logger().warning("could not open or settle %s; next wake tries again", name)


@task(cache_policy=NO_CACHE, persist_result=False)
def publish(case: str) -> None:
    """Update the plan's markdown and progress artifacts."""
    showing.show(runtime.app(), case, str(flow_run.id), events=[])


class RunEnded(Abort):
    """The run's final state is set; the engine stops without asking for a result. Prefect
    logs this exit at INFO ("aborted by orchestrator"): an ending is news, not an error."""

    def __init__(self, state: State) -> None:
        super().__init__(f"the plan's run ended {state.name}")
        self.state = state  # the engine records it as the run's state, as after a Pause


def end_cancelled(final: State) -> State:
    """End the run Cancelled (or Terminated) from inside the flow, quietly. Returned from the
    flow, a Cancelled state makes Prefect's engine read the run's result, which raises
    CancelledRun: an ERROR and a traceback in the run's logs and the runner's output for
    every ending and every Retry. So the state is proposed here, as `suspend_flow_run` does,
    and the engine is told it is set (see RunEnded)."""
    context = FlowRunContext.get()
    if context is None or context.flow_run is None:  # called as a plain function: say it
        return final
    with get_client(sync_client=True) as client:
        ended = propose_state_sync(client, final, flow_run_id=context.flow_run.id)
    if not ended.is_cancelled():  # refused (the server knows better): the engine ends it
        return final
    raise RunEnded(ended)


@flow(name=DEPLOYMENT, persist_result=False, log_prints=False)
def rehabilitation_plan(case: str) -> State | str:
    """Carry one plan for its whole life: reconcile, tend, publish; end in the plan's state,
    or sleep again if it goes on (after a crash)."""
    now = reconcile(case)
    tend(case)
    publish(case)
    state = now["state"]
    if state in tending.FINAL:
        # How it ended, in words a supervisor can tell apart: help received, or check-ins
        # all missed; consent withdrawn; which rule was breached.
        message = now["message"]
        if message is None:  # set aside as it ended: its plan read afresh
            ended, supervisor = showing.case_view(runtime.app(), case)
            message = state_message(ended, supervisor=supervisor)
        if state == "completed":
            return Completed(message=message)
        return end_cancelled(
            Cancelled(name="Terminated", message=message)
            if state == "terminated"
            else Cancelled(message=message)
        )
    # Executed while the plan goes on: after a crash, or a Resume clicked in the UI (which
    # decides nothing: the plan was looked at now). The clock looks once more just after the
    # run waits again, to put back its state message (a suspend from inside sets none).
    app = runtime.app()
    engine.look_again(app.store, code=case, at=app.now() + app.settings.clock_interval)
    # Fresh key per wake: the store counts wakes, so a re-run never reuses a resumed key.
    wakes = queries.wake_count(app.store, code=case)
    suspend_flow_run(key=f"wake-{wakes}", timeout=None)
    return f"plan {case} woke"  # not reached: suspending ends this process
