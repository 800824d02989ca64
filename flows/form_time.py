"""When a person sent a form: the time the server took it, so a code typed then is judged by
then, however long the decision run then waits for a process (a wake storm on a busy machine
can make that minutes, longer than a code lives)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from uuid import UUID

log = logging.getLogger("rehab.forms")

# How far back a form's time may be from the check. The time is the server's own (a client
# cannot give a state its timestamp), so it says when the code was typed; the bound only keeps
# a stale state from counting. On a loaded 2-core machine a run waited 5 minutes for a process.
MAX_LAG = timedelta(hours=1)


def submitted_at(now: datetime) -> datetime:
    """The time the server took this run's form (the run's latest "Resuming" state, written
    by the resume itself) if within MAX_LAG before `now`; else `now`, as outside a run."""
    from prefect.client.orchestration import get_client  # noqa: PLC0415  # imports prefect
    from prefect.runtime import flow_run  # noqa: PLC0415

    run_id = flow_run.get_id()
    if not run_id:
        return now
    try:
        with get_client(sync_client=True) as client:
            states = client.read_flow_run_states(UUID(run_id))
    except Exception as exc:  # the check goes on, by the time of the check
        log.warning("could not read when the form was sent (%s)", type(exc).__name__)
        return now
    taken = [s.timestamp for s in states if s.name == "Resuming" and s.timestamp is not None]
    at = max(taken, default=None)
    return at if at is not None and now - MAX_LAG <= at <= now else now
