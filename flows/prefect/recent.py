"""Flow runs as this process has just read or written them, for the call that follows within
the same wake: a launch knows its new run's tags and state, and a wake's labelling read serves
its resume check. An entry is taken once and is good for a few seconds only: what a person
changes in the UI is read again at the next wake."""

from __future__ import annotations

import threading
import time
from uuid import UUID

from prefect.client.schemas.objects import FlowRun

FRESH_FOR = 10.0  # seconds: a wake's calls follow each other within this
_MAX = 10_000

_lock = threading.Lock()
_runs: dict[UUID, tuple[float, FlowRun, bool]] = {}


def remember(run: FlowRun, *, new: bool = False) -> None:
    """Keep the run as it stands now (`new`: created just now, so it shows nothing yet)."""
    with _lock:
        if len(_runs) >= _MAX:
            _runs.clear()
        _runs[run.id] = (time.monotonic(), run, new)


def take(run_id: UUID, *, created: bool = False) -> FlowRun | None:
    """The run as last kept, if that was within FRESH_FOR seconds (and, with `created`, kept
    by its creation); forgotten as it is taken, whatever it was."""
    with _lock:
        kept = _runs.pop(run_id, None)
    if kept is None or time.monotonic() - kept[0] > FRESH_FOR or (created and not kept[2]):
        return None
    return kept[1]


def is_new(run_id: UUID) -> bool:
    """True if this process created the run within FRESH_FOR seconds (no artifact yet)."""
    with _lock:
        kept = _runs.get(run_id)
    return kept is not None and kept[2] and time.monotonic() - kept[0] <= FRESH_FOR


def claim_new(run_id: UUID) -> bool:
    """`is_new`, for the one caller that will make the run's first artifacts: True once, then
    False for any other thread of this process (a served launch and the clock in one runner),
    which then reads back what the first made."""
    with _lock:
        kept = _runs.get(run_id)
        if kept is None or not kept[2] or time.monotonic() - kept[0] > FRESH_FOR:
            return False
        _runs[run_id] = (kept[0], kept[1], False)
        return True
