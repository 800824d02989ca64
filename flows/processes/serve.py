"""The runner: serves the plan and decision deployments, runs the clock, drains on stop."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import threading
from typing import Any

from prefect.runner import Runner

from casework.services.programme import approval_required
from flows.app import App
from flows.clock import run_clock, run_outbox
from flows.decision_flow import decision
from flows.engine_socket.server import serve_commands
from flows.plan_flow import rehabilitation_plan
from flows.prefect.deploy import DESCRIPTIONS

log = logging.getLogger("rehab.serve")
DRAIN_SECONDS = 120
# Beside the runner: the clock, the outbox, and the socket the operator's commands come to.
THREADS = (
    (run_clock, "plan-clock"),
    (run_outbox, "outbox"),
    (serve_commands, "engine-socket"),
)


def _in_flight(runner: Runner) -> int:
    manager = getattr(runner, "_process_manager", None)
    return len(getattr(manager, "_process_map", {}) or {})


async def serve(app: App) -> None:
    """Serve until SIGINT or SIGTERM, then stop taking runs and let those in flight finish."""
    settings = app.settings
    runner = Runner(
        name="rehab",
        pause_on_shutdown=False,
        limit=settings.runner_limit,
        query_seconds=settings.runner_poll.total_seconds(),
    )
    for flow, name in ((rehabilitation_plan, "rehabilitation-plan"), (decision, "decision")):
        await runner.aadd_deployment(
            await flow.ato_deployment(name=name, description=DESCRIPTIONS[name], tags=["rehab"])
        )
    stop_loops = threading.Event()
    threads = [
        threading.Thread(target=body, args=(app, stop_loops), name=name, daemon=True)
        for body, name in THREADS
    ]
    loop = asyncio.get_running_loop()
    draining = asyncio.Event()

    async def drain() -> None:
        # Stopping while a run suspends once turned it Cancelled: take no new runs, wait for
        # the ones in flight, then stop.
        stop_loops.set()
        poller = getattr(runner, "_scheduled_run_poller", None)
        if poller is not None:
            poller.stopping = True
        for _ in range(DRAIN_SECONDS * 5):
            if _in_flight(runner) == 0:
                break
            await asyncio.sleep(0.2)
        log.info("runner drained; stopping")
        await runner.astop()

    def on_signal(*_: Any) -> None:
        if not draining.is_set():
            draining.set()
            loop.call_soon_threadsafe(lambda: asyncio.ensure_future(drain()))

    runner.handle_sigterm = on_signal  # type: ignore[method-assign]  # start() installs this one
    loop.add_signal_handler(signal.SIGINT, on_signal)
    for thread in threads:
        thread.start()
    try:
        await runner.start()
    finally:
        stop_loops.set()
        for thread in threads:
            thread.join(timeout=30)


def clock_only(app: App) -> None:
    """Run the clock and the outbox sender without serving runs: for a deployment whose flow
    runs are executed by Prefect workers on a work pool. Stops on SIGINT or SIGTERM."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    threads = [threading.Thread(target=body, args=(app, stop), name=name) for body, name in THREADS]
    for thread in threads:
        thread.start()
    stop.wait()
    for thread in threads:
        thread.join(timeout=30)


def main() -> None:
    """Entry point for `python -m flows.processes.serve` (what `rehab up` runs beside the server);
    `--clock-only` runs the clock and the outbox without serving the deployments."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    os.umask(0o077)  # what the engine writes is for its owner's eyes only
    app = App()
    # The engine's default for a programme whose configuration says nothing (rule 5).
    approval_required(
        app.store, app.directories, engine_default=app.settings.require_approval, now=app.now()
    )
    if "--clock-only" in sys.argv[1:]:
        clock_only(app)
    else:
        asyncio.run(serve(app))


if __name__ == "__main__":
    main()
