"""The engine's work on a plan when its time comes or a person changes it, done without a
flow-run process: reconcile the case in the store, tend its decision runs, show the result on
its flow run. The wake reads the case once (casework/services/wake.py) and everything after
it works from that view. The run executes only to end (and after a crash); see
docs/architecture.md."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from casework.services import engine, quarantine, ui_actions, wake
from casework.services.unit_of_work import retry_on_conflict
from casework.services.wake import Woken
from flows.app import App
from flows.prefect.decision_runs import tend_all, tend_listed
from flows.showing import Gathered, event_lines, labels, show
from flows.shown.artifacts import shown_keys

log = logging.getLogger("rehab.tending")

FINAL = frozenset({"completed", "cancelled", "terminated"})
ENDED = frozenset({"completed", "cancelled", "failed"})  # a run's final states
READ_AHEAD = 50  # wakes whose runs are read in one request, just before they are shown


def reconcile(app: App, code: str) -> Woken:
    """Apply everything due now to the case; a racing change by a person means: try again.
    A case whose wake fails for a reason of its own is quarantined (security.md rule 13)
    and comes back as it stands, set aside; trouble that is not the case's is raised."""
    try:
        return retry_on_conflict(
            lambda: wake.wake(app.store, code=code, now=app.now(), directories=app.directories)
        )
    except Exception as exc:
        if quarantine.is_transient(exc):
            raise
        reason = quarantine.reason_for(exc)
        if quarantine.quarantine(app.store, code=code, reason=reason, now=app.now()):
            # Where, not what: an error's text may quote stored values.
            where = "".join(traceback.format_tb(exc.__traceback__)[-3:])
            log.error("plan %s quarantined: %s\n%s", code, reason, where.rstrip())
        return wake.set_aside(app.store, code=code)


def follow_up(
    app: App,
    woken: Woken,
    *,
    tended: list[str] | None = None,
    gathered: Gathered | None = None,
) -> str:
    """The Prefect side of a change: decision runs opened or settled, the run's artifacts and
    logs updated, and the run resumed only if the plan has ended (so it ends in its state).
    If Prefect cannot be reached the case stays due, and the clock tries again. All of it
    from the wake's view of the case: the store is read again only to write what was done.
    `tended`: its decision runs were tended already (with other wakes'), these failed;
    `gathered`: its logs and events are sent later, with other wakes'."""
    changed = woken.changed

    def again_after(delay: timedelta) -> None:
        engine.look_again(app.store, code=changed.code, at=app.now() + delay)

    if changed.flow_run_id is None:  # being created: the clock makes sure it is
        again_after(app.settings.clock_interval)
        return "no flow run yet"
    if changed.quarantined is not None:
        return show_quarantine(app, woken, changed.flow_run_id, again_after)
    try:
        failed = tend_listed(app, woken) if tended is None else tended
        show(
            app,
            woken,
            changed.flow_run_id,
            event_lines(changed),
            changed.events,
            gathered=gathered,
        )
        woke = app.prefect.resume_or_restart_run(
            changed.flow_run_id,
            stale_after=app.settings.stale_run_after,
            resume=changed.state in FINAL,
        )
    except Exception:
        again_after(app.settings.clock_interval)
        raise
    if woke == "deleted" and changed.state not in FINAL:
        return recreate_run(app, woken)
    said = "updated" if woke == "suspended" else woke  # a living plan's run waits on
    if failed:
        again_after(app.settings.clock_interval)
        return f"{said}; will retry {', '.join(failed)}"
    if changed.state in FINAL and woke not in ENDED:
        # Until its run has ended, an ended plan stays on the clock: a crash gets a restart.
        again_after(app.settings.stale_run_after)
    return said


def follow_up_all(app: App, wakes: list[Woken], *, threads: int) -> list[str]:
    """`follow_up` for a tick's wakes, on `threads` threads, with what can be asked of
    Prefect for all of them at once asked so: their forms opened in one request, their runs
    and artifacts read a page at a time, their logs and events sent in one request each.
    Returns what each said, in order ("errors" for one that failed, logged; it is due again)."""
    showing = [w for w in wakes if w.changed.flow_run_id is not None and not w.changed.quarantined]
    try:
        tended = tend_all(app, showing)
    except Exception:  # tended one by one below, each failure its own
        log.exception("could not tend the decision runs of %d plans together", len(showing))
        tended = {}
    gathered = Gathered()

    def one(woken: Woken) -> str:
        try:
            said = follow_up(app, woken, tended=tended.get(woken.code), gathered=gathered)
        except Exception:
            log.exception("could not update the flow run of plan %s", woken.code)
            return "errors"
        return "quarantined" if woken.changed.quarantined is not None else said

    said: list[str] = []
    with ThreadPoolExecutor(threads, thread_name_prefix="rehab-follow-up") as pool:
        for first in range(0, len(wakes), READ_AHEAD):
            part = wakes[first : first + READ_AHEAD]
            runs = [
                (w.changed.flow_run_id, shown_keys(w.code))
                for w in part
                if w.changed.flow_run_id is not None and not w.changed.quarantined
            ]
            try:  # read just before they are used: what is read is good for seconds only
                app.prefect.read_ahead(runs)
            except Exception:  # each call reads for itself
                log.warning("could not read %d plan runs ahead", len(runs), exc_info=True)
            said += pool.map(one, part)
    try:
        gathered.send(app)
    except Exception:  # shown again at the next tick; the lines of this one are in the audit log
        log.exception("could not send the log lines and events of %d wakes", len(wakes))
        again = app.now() + app.settings.clock_interval
        for woken in showing:
            engine.look_again(app.store, code=woken.code, at=again)
    return said


def show_quarantine(
    app: App, woken: Woken, flow_run_id: str, again_after: Callable[[timedelta], None]
) -> str:
    """A case set aside: its run tagged `failed` with the reason as its state message (it
    stays Suspended), then off the clock until a person acts."""
    tags, message = labels(app, woken)
    try:
        app.prefect.label_run(flow_run_id, tags=tags, message=message)
    except Exception:
        again_after(app.settings.clock_interval)
        raise
    quarantine.park(app.store, code=woken.code)
    return message or "quarantined"


def tend_case(app: App, code: str) -> str:
    """Reconcile one case and follow it up in Prefect; returns the plan run's state."""
    return follow_up(app, reconcile(app, code))


def tend_after_change(app: App, code: str) -> str | None:
    """After a person's change at the door: tend the case now; if that fails, the clock looks
    again at its next tick (the change itself is saved). The plan run's state, or None."""
    try:
        return tend_case(app, code)
    except Exception as exc:  # recorded in the store: nothing is lost
        log.warning("case %s: tended at the next tick (%s)", code, type(exc).__name__)
        engine.look_again(app.store, code=code, at=app.now())
        return None


UNDONE = (
    "A Cancel from the Prefect UI was undone: a plan ends, and a decision is taken, only by "
    "a person who proves who they are (a form with their code, or the rehab command)"
)
RECREATED = (
    "This plan's run was deleted in the Prefect UI; the plan goes on, so the plan clock "
    "made it this new run"
)


def new_run(app: App, code: str, seen: Woken | None = None) -> str:
    """Create the flow run of the case's current episode (already waiting) and remember it."""
    run_id = app.prefect.start_plan_run(*_as_shown(app, code, seen))
    engine.set_flow_run(app.store, code=code, flow_run_id=run_id, now=app.now())
    return run_id


def _as_shown(
    app: App, code: str, seen: Woken | None = None
) -> tuple[str, int, list[str], str | None]:
    """The plan run to start for the case's episode: its code, episode, tags and message."""
    if seen is None:
        seen = wake.seen(app.store, code=code, directories=app.directories)
    tags, message = labels(app, seen)
    return code, seen.episode, tags, message


def new_runs(app: App, codes: list[str]) -> dict[str, str]:
    """`new_run` for many cases by their stored codes (a bulk launch's), their runs created
    together and recorded in one transaction; the run ids by case code, a code missing
    there failed (or names no case, or one erased)."""
    seen = wake.seen_many(app.store, codes=codes, directories=app.directories)
    started = app.prefect.start_plan_runs(
        [_as_shown(app, code, seen[code]) for code in codes if code in seen]
    )
    engine.set_flow_runs(app.store, runs=started, now=app.now())
    return started


def recreate_run(app: App, woken: Woken) -> str:
    """A living plan whose run was deleted (in the UI) gets a new one, audited, its story
    shown on it from the store."""
    code = woken.code
    run_id = new_run(app, code, woken)
    ui_actions.record_undone(
        app.store,
        owner=ui_actions.RunOwner(code, "plan"),
        action="plan-run-recreated",
        now=app.now(),
    )
    show(app, woken, run_id, [(app.now(), RECREATED)])
    return "recreated"


def answer_ui_cancels(app: App, *, since: datetime) -> int:
    """Undo the Prefect UI's Cancel on living plans' runs and waiting decisions' forms since
    `since`; returns how many were undone."""
    now = app.now()
    undone, failed = 0, []
    for run_id in app.prefect.cancelled_runs(since):
        try:
            owner = ui_actions.owner_of(app.store, flow_run_id=run_id)
            if owner is None:  # the plan ended or the decision was taken: nothing to undo
                continue
            app.prefect.restore_run(run_id, UNDONE)
            ui_actions.record_undone(app.store, owner=owner, action="ui-cancel-undone", now=now)
            if owner.kind == "plan":
                engine.look_again(app.store, code=owner.code, at=now)  # shown afresh next tick
        except Exception:  # one run's trouble keeps no other waiting Cancelled
            log.exception("could not undo the UI's Cancel of run %s", run_id)
            failed.append(run_id)
            continue
        undone += 1
    if failed:  # the clock looks from the same moment again (undone runs are not Cancelled)
        raise UiCancelsLeft(failed)
    return undone


class UiCancelsLeft(Exception):
    """Runs cancelled in the UI whose Cancel could not be undone this time."""
