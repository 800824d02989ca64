"""The way Prefect users first write a waiting plan: a flow that holds its process while it
waits (`pause_flow_run` keeps the process alive until resumed or timed out)."""

from __future__ import annotations

import asyncio
import os
import sys

from prefect import flow
from prefect.flow_runs import pause_flow_run
from prefect.runner import Runner


@flow(name="naive-plan", persist_result=False)
def naive_plan(case: str) -> str:
    """Wait for an hour, holding the process, then do one step."""
    pause_flow_run(timeout=3600)
    return f"{case} done"


async def serve() -> None:
    """Serve the naive deployment with no limit on concurrent runs."""
    runner = Runner(name="naive", pause_on_shutdown=False, limit=None, query_seconds=1)
    await runner.aadd_deployment(await naive_plan.ato_deployment(name="naive-plan"))
    await runner.start()


if __name__ == "__main__":
    os.environ.setdefault("PREFECT_RUNNER_POLL_FREQUENCY", "1")
    sys.exit(asyncio.run(serve()))
