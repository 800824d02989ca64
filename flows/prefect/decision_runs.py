"""The decision runs of a case, kept in step with its decisions: a run settled when its
decision was taken elsewhere, a form opened for each decision still waiting (all of a wake's in
one request), each run remembered in the case store."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from casework.store import decisions
from flows.app import App
from flows.prefect.decision_forms import waiting_form

if TYPE_CHECKING:
    from casework.services.wake import Woken


def sync_decision_runs(app: App, *, code: str, open_new: bool) -> list[str]:
    """Tell decision runs about decisions taken elsewhere (and, with `open_new`, open a run for
    each decision still waiting, all in one go). Returns the decisions that failed, to be
    tried again."""
    failed = []
    opening = []
    for decision in decisions.sync_decisions(app.store, code=code, now=app.now()):
        if decision.status == "waiting":
            if open_new:
                opening.append(decision)
            continue
        try:
            app.prefect.settle_decision_run(decision)
            decisions.set_decision_run(
                app.store, code=code, kind=decision.kind, scope=decision.scope, settled=True
            )
        except Exception:  # the caller carries on; the next wake tries this decision again
            failed.append(decision.run_name)
    openings = []
    for decision in opening:
        try:
            openings.append((decision, *waiting_form(app, decision)))
        except Exception:  # as below: tried again at the next wake
            failed.append(decision.run_name)
    unopened = _open_forms(
        app,
        openings,
        lambda decision, run_id: decisions.set_decision_run(
            app.store, code=code, kind=decision.kind, scope=decision.scope, flow_run_id=run_id
        ),
    )
    return failed + [decision.run_name for decision in unopened]


def tend_listed(app: App, woken: Woken) -> list[str]:
    """`sync_decision_runs` for the decisions the wake synced: their forms described from the
    wake's status and opened in one request, their runs remembered by the case's row id (the
    case is not read again)."""
    return tend_all(app, [woken])[woken.code]


def tend_all(app: App, wakes: Sequence[Woken]) -> dict[str, list[str]]:
    """`tend_listed` for many wakes at once (a tick's): every form they open, in one request.
    Returns, by case code, the decisions that failed, which the case's next wake tries again."""
    failed: dict[str, list[str]] = {woken.code: [] for woken in wakes}
    openings = []
    owners: dict[str, Woken] = {}
    for woken in wakes:
        status = None if woken.status is None else dict(woken.status)
        for decision in woken.to_tend:
            try:
                if decision.status == "waiting":
                    openings.append((decision, *waiting_form(app, decision, status=status)))
                    owners[decision.idempotency_key] = woken
                else:
                    app.prefect.settle_decision_run(decision)
                    decisions.set_run_of(
                        app.store, case_id=woken.case_id, decision=decision, settled=True
                    )
            except Exception:  # the caller carries on; the next wake tries this decision again
                failed[woken.code].append(decision.run_name)

    def remember(decision: decisions.Decision, run_id: str) -> None:
        owner = owners[decision.idempotency_key]
        decisions.set_run_of(
            app.store, case_id=owner.case_id, decision=decision, flow_run_id=run_id
        )

    for decision in _open_forms(app, openings, remember):
        failed[owners[decision.idempotency_key].code].append(decision.run_name)
    return failed


def _open_forms(
    app: App,
    openings: list[tuple[decisions.Decision, Any, str]],
    remember: Callable[[decisions.Decision, str], None],
) -> list[decisions.Decision]:
    """Open the decisions' form runs in one request and `remember` each run; returns the
    decisions that failed, which the next wake tries again."""
    if not openings:
        return []
    try:
        opened = app.prefect.open_decision_runs(openings)
    except Exception:  # Prefect unreachable: every one is tried again at the next wake
        opened = {}
    failed = []
    for decision, _, _ in openings:
        try:
            remember(decision, opened[decision.idempotency_key])
        except Exception:  # not opened, or not recorded: the next wake tries it again
            failed.append(decision)
    return failed
