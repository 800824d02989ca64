"""The plan clock: does the work of plans whose time has come. One indexed query per tick, so
a tick costs what is due, not how many plans wait; it runs inside the runner's process and
starts no flow-run process for routine work (see docs/architecture.md)."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta

from casework.services import engine
from casework.services.wake import Woken
from casework.store import queries
from flows import erasing, tending
from flows.app import App
from notifications.notifier import batch
from notifications.outbox import send_due

log = logging.getLogger("rehab.clock")


# A Cancel clicked while the engine was stopped is found at its start; Prefect's and this host's
# clocks may differ a little, so each look reaches a minute back (a restored run is no longer
# Cancelled, so looking twice changes nothing).
UI_LOOK_BACK_AT_START = timedelta(days=1)
UI_CLOCK_SKEW = timedelta(minutes=1)
FOLLOW_UP_THREADS = 4  # Prefect API calls wait on the network; the store work is done first


def tick(app: App) -> Counter[str]:
    """Do the work of every plan whose time has come: first all of it in the store (steps
    started, reminders queued), then its Prefect side; returns what was done, counted. One
    plan's trouble, wherever it arises, stops nothing for the others: a case that cannot be
    tended is quarantined (casework/services/quarantine.py), any other failure tried again
    next tick."""
    done: Counter[str] = Counter()
    wakes: list[Woken] = []
    for code, run_id in queries.due_wakes(app.store, now=app.now()):
        if run_id is None:  # launched, but its run could not be created then
            try:
                tending.new_run(app, code)
                done["started"] += 1
            except Exception:  # Prefect away: the store's work goes on; the run comes later
                log.exception("could not create the flow run of plan %s", code)
                done["errors"] += 1
        try:
            wakes.append(tending.reconcile(app, code))
        except Exception:  # not the case's own trouble (e.g. the store busy): next tick
            log.exception("could not reconcile plan %s", code)
            done["errors"] += 1

    if wakes:
        done.update(tending.follow_up_all(app, wakes, threads=FOLLOW_UP_THREADS))
    return done


def _each_pass(app: App, looked: datetime, done: Counter[str]) -> datetime:
    """The clock's passes after the tick, each on its own: one failing (or one run or case
    in it) does not keep the others from running. Returns when the UI was last looked at."""
    now = app.now()
    try:
        undone = tending.answer_ui_cancels(app, since=looked - UI_CLOCK_SKEW)
        looked = now
        if undone:
            done["ui-cancels-undone"] += undone
    except Exception:  # e.g. Prefect away: the same look again next tick
        log.exception("could not look for runs cancelled in the UI")
    passes: tuple[tuple[str, Callable[[], int]], ...] = (
        ("purged", lambda: len(erasing.purge_past_retention(app))),
        ("purged-runs-swept", lambda: erasing.sweep_after_purges(app)),
    )
    for name, work in passes:
        try:
            count = work()
        except Exception:
            log.exception("clock pass %s failed", name)
            continue
        if count:
            done[name] += count
    return looked


def run_clock(app: App, stop: threading.Event) -> None:
    """Tick every REHAB_CLOCK_INTERVAL until `stop` is set."""
    interval = app.settings.clock_interval.total_seconds()
    looked = app.now() - UI_LOOK_BACK_AT_START
    while not stop.is_set():
        done: Counter[str] = Counter()
        try:
            done = tick(app)
        except Exception:  # e.g. the store restarting: try again next tick
            log.exception("clock tick failed")
        looked = _each_pass(app, looked, done)
        if done:
            log.info("clock: %s", dict(done))
        stop.wait(interval)


def run_outbox(app: App, stop: threading.Event) -> None:
    """Send due messages every REHAB_CLOCK_INTERVAL until `stop` is set. Its own thread: a
    slow mail server must not delay the plans' wakes. While each pass finds messages to send,
    the mail servers' connections stay open from one pass to the next (a new one costs a TLS
    context, about 40 ms of CPU, even on a plain connection); a pass with nothing to send
    closes them."""
    interval = app.settings.clock_interval.total_seconds()
    with contextlib.ExitStack() as connections:
        holding = False
        while not stop.is_set():
            if not holding:
                connections.enter_context(batch(app.notifier))
                holding = True
            sent: Counter[str] = Counter()
            try:
                sent = send_due(
                    app.store,
                    app.directories,
                    app.notifier,
                    now=app.now(),
                    policy=app.send_policy,
                    links=app.partner_links,
                    told=lambda codes: engine.look_again_at_all(
                        app.store, codes=codes, at=app.now()
                    ),  # their timelines count these messages: shown afresh next tick
                )
                if sent:
                    log.info("outbox: %s", dict(sent))
            except Exception:  # e.g. the database restarting: try again next tick
                log.exception("outbox tick failed")
            if not sent:
                connections.close()
                holding = False
            stop.wait(interval)
