"""A prototype wake that executes the plan flow in the clock's own process, and a runner whose
clock wakes plans either way, for bench/scale.py --inprocess to compare.

Today a wake is API calls from the clock (flows/tending.py): the plan's run stays Suspended.
The prototype takes the Suspended run and executes `rehabilitation_plan` on it in the calling
thread with Prefect's flow engine (`run_flow(flow, flow_run=...)`, no new interpreter). The run
is first set Pending (the engine watches for a suspension from its start, and would stop at once
on a run still Suspended); the engine proposes Running; the tasks reconcile, tend and publish as
task runs; `suspend_flow_run` proposes Suspended again and raises `Pause`, which ends `run_flow`
here. Each wake then shows in the run's state history (Pending, Running, Suspended) and as
three task runs.

    python bench/inprocess_wake.py   # the environment of flows.processes.serve; plans whose
                                     # case code starts with INP are woken in process, others
                                     # as today
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace
from uuid import UUID

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from prefect.client.orchestration import get_client  # after the path set-up
from prefect.client.schemas import OrchestrationResult
from prefect.exceptions import Pause
from prefect.flow_engine import run_flow
from prefect.states import Pending

from casework.services.programme import approval_required
from casework.services.wake import Woken
from casework.store import queries
from flows import clock, plan_flow, tending
from flows.app import App
from flows.plan_flow import rehabilitation_plan
from flows.processes.serve import serve

PREFIX = "INP"  # the case codes of plans woken in process
log = logging.getLogger("rehab.bench.inprocess")


def wake_in_process(app: App, code: str, flow_run_id: str) -> str:
    """Execute the plan flow on the plan's Suspended run in this thread; its state after.

    The flow's own tasks do the wake's work (reconcile in the store, tend decisions, publish),
    so the clock does not reconcile first. A run that is not Suspended (crashed, hung) is
    left to today's path."""
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(UUID(flow_run_id))
        if run.state is None or not run.state.is_paused():
            return tending.tend_case(app, code)
        # The engine watches for a suspension from its start and would stop at once on a run
        # still Suspended: take it out first. Pending, not Scheduled, so the runner, which
        # polls for Scheduled runs of its deployments, does not start it in a process too.
        taken: OrchestrationResult[None] = client.set_flow_run_state(
            run.id, Pending(name="Waking", message="woken by the plan clock"), force=True
        )
        run.state = taken.state
    try:
        state = run_flow(rehabilitation_plan, flow_run=run, return_type="state")
    except Pause:  # suspend_flow_run: the run waits again, Suspended with a fresh key
        return "suspended"
    ended = getattr(state, "type", None)
    return str(ended.value).lower() if ended is not None else "unknown"


def tick(app: App) -> Counter[str]:
    """The clock's tick (flows/clock.py), with plans of PREFIX woken in process: today's
    plans are reconciled first and followed up by API calls, as the clock does."""
    done: Counter[str] = Counter()
    due = queries.due_wakes(app.store, now=app.now())
    wakes: list[Woken] = []
    ours: list[tuple[str, str]] = []
    for code, run_id in due:
        try:
            if code.startswith(PREFIX) and run_id is not None:
                ours.append((code, run_id))
            else:
                if run_id is None:
                    tending.new_run(app, code)
                wakes.append(tending.reconcile(app, code))
        except Exception:
            log.exception("could not reconcile plan %s", code)
            done["errors"] += 1

    def today(woken: Woken) -> str:
        try:
            return tending.follow_up(app, woken)
        except Exception:
            log.exception("could not update the flow run of plan %s", woken.code)
            return "errors"

    def in_process(job: tuple[str, str]) -> str:
        try:
            return wake_in_process(app, *job)
        except Exception:
            log.exception("could not wake plan %s in process", job[0])
            return "errors"

    # The pool waits for every wake before the next tick: a plan whose flow is running is
    # still due in the store until its reconcile task has run, and must not be woken twice.
    with ThreadPoolExecutor(clock.FOLLOW_UP_THREADS, thread_name_prefix="rehab-wake") as pool:
        done.update(pool.map(today, wakes))
        done.update(pool.map(in_process, ours))
    return done


def main() -> None:
    """Serve the deployments as flows.processes.serve does, with this module's clock tick."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    os.umask(0o077)
    clock.tick = tick  # run_clock calls the module's tick
    # Executed outside the clock, the plan flow asks the clock to look once more (to put back
    # the run's state message, which a suspend from inside sets none of); woken by the clock
    # here, each wake would ask for the next one, for ever.
    plan_flow.services = SimpleNamespace(look_again=lambda *_, **__: None)  # type: ignore[assignment]
    app = App()
    approval_required(
        app.store, app.directories, engine_default=app.settings.require_approval, now=app.now()
    )
    asyncio.run(serve(app))


if __name__ == "__main__":
    main()
