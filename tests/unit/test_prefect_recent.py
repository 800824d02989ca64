"""What the Prefect side keeps of a run between the calls of one wake: taken once, good for a
few seconds, and a labelling trusts only what a creation kept (a person may have retagged
the run in the UI since any earlier read)."""

from __future__ import annotations

from uuid import uuid4

import pytest
from prefect.client.schemas.objects import FlowRun

from flows.prefect import recent


def a_run() -> FlowRun:
    return FlowRun(id=uuid4(), name="BC-1", flow_id=uuid4(), tags=["rehab"])


def test_a_kept_run_is_taken_once() -> None:
    run = a_run()
    recent.remember(run)
    assert recent.take(run.id) == run
    assert recent.take(run.id) is None, "taken already: the next call reads the server"


def test_a_run_kept_too_long_ago_is_read_again(monkeypatch: pytest.MonkeyPatch) -> None:
    run = a_run()
    recent.remember(run)
    later = recent.time.monotonic() + recent.FRESH_FOR + 1
    monkeypatch.setattr(recent.time, "monotonic", lambda: later)
    assert recent.take(run.id) is None


def test_only_a_creation_is_new_and_trusted_for_labels() -> None:
    created, read = a_run(), a_run()
    recent.remember(created, new=True)
    recent.remember(read)
    assert recent.is_new(created.id) and not recent.is_new(read.id)
    assert recent.take(read.id, created=True) is None, "an earlier read is not trusted"
    assert recent.take(read.id) is None, "and it is forgotten all the same"
    assert recent.take(created.id, created=True) == created


def test_only_one_thread_of_a_process_may_treat_a_new_run_as_showing_nothing() -> None:
    """A served launch and the clock run in one runner: one makes the first artifacts without
    reading back, the other reads back what it made."""
    run = FlowRun(id=uuid4(), name="X", flow_id=uuid4())
    recent.remember(run, new=True)
    assert recent.claim_new(run.id) is True
    assert recent.claim_new(run.id) is False
    assert recent.is_new(run.id) is False
