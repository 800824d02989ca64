"""`rehab plan launch FILE...`: record plans and start their flow runs, one or many in one go.

Every file is checked before anything is recorded: one invalid file launches nothing. Then
each plan is launched as on its own, and one plan's refusal stops no other; the new cases of a
chunk are recorded in one transaction (casework/services/plan_launches.py). In one
process the App, the store and the Prefect clients serve every plan. Plans go in chunks of
CHUNK: each recorded, then the chunk's runs created in one request and their first wakes
followed up together, as one clock tick's (`Engine.start_plans`), while the next chunk is
recorded (STARTING chunks started at once). A launch tells the clock to keep off while its
launcher follows it up (`engine_client.LAUNCHER_FOLLOWS_UP`), so no plan is followed up
twice; one whose run could not be made is the clock's at its next tick (docs/scaling.md)."""

from __future__ import annotations

import sys
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import click

from casework.services import plan_changes, plan_launches
from casework.services.programme import approval_required
from casework.services.unit_of_work import Changed
from flows.app import App
from flows.cli.context import Context, as_user_error, emit, pass_ctx
from flows.prefect import engine_client
from flows.prefect.errors import RunNotCreated
from plans.errors import InvalidFile
from plans.loading import load_plan, read_text
from plans.model import Plan

PROGRESS_EVERY = 50  # plans between two progress lines on stderr
LARGE = 100  # a batch this long shows its progress even when stderr is not a terminal
CHUNK = 50  # plans recorded, then their runs started together and followed up as one tick
THREADS = 4  # follow-ups at once: each waits on the Prefect server, the store work is short
STARTING = 2  # chunks whose runs are being started while the next is recorded


@click.command("launch")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--by", help="Staff id launching them (default: each plan's case manager).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_ctx
def plan_launch(ctx: Context, files: tuple[Path, ...], by: str | None, as_json: bool) -> None:
    """Record the plans and start their flow runs; every file is checked first."""
    if len(files) == 1:
        launch_one(ctx.app, files[0], by=by, as_json=as_json, cwd=ctx.cwd)
        return
    plans = checked(ctx.app, files, as_json=as_json, cwd=ctx.cwd)
    outcomes = launch_many(ctx.app, plans, by=by, progress=_progress(len(plans)))
    if as_json:
        emit(outcomes)
    else:
        for outcome in outcomes:
            if "error" in outcome:
                click.echo(f"{outcome['file']}: error: {outcome['error']}", err=True)
            else:
                click.echo(f"{outcome['file']}: {_line(outcome)}")
    refused = sum("error" in o for o in outcomes)
    if refused:
        click.echo(
            f"{len(outcomes) - refused} of {len(outcomes)} launched with their runs; "
            f"{refused} not (each said above)",
            err=True,
        )
        raise click.exceptions.Exit(1)


def _load(app: App, file: Path, cwd: Path | None) -> Plan:
    """The plan in `file` (relative to `cwd` when the engine serves the command), named in
    every message as it was typed."""
    text = read_text(file if cwd is None else cwd / file, name=str(file))
    return load_plan(file, app.directories, text=text)


def launch_one(
    app: App, file: Path, *, by: str | None, as_json: bool, cwd: Path | None = None
) -> None:
    """One file: its errors raised as the operator has always seen them."""
    p = _load(app, file, cwd)
    engine = engine_client.connect(app.settings)  # refuse before recording anything
    changed = _record(app, engine, p, by=by, needs_approval=_needs_approval(app))
    p = p.model_copy(update={"case": changed.code})  # as stored, however the file spells it
    run_id = engine.start_plan(app, p)
    result = {"case": p.case, "state": changed.state, "flow_run_id": run_id}
    result["url"] = engine.run_url(run_id)
    if as_json:
        emit(result)
    else:
        click.echo(_line(result))


def _needs_approval(app: App) -> bool:
    return approval_required(app.store, app.directories, engine_default=None, now=app.now())


def _record(
    app: App, engine: engine_client.Engine, p: Plan, *, by: str | None, needs_approval: bool
) -> Changed:
    """The plan launched in the store, its launcher following it up."""
    return plan_changes.launch(
        app.store,
        app.directories,
        plan=p,
        by=by or p.manager,
        now=app.now(),
        approval_required=needs_approval,
        followed_up_by=engine.follow_up_by(app),
    )


def _line(result: dict[str, Any]) -> str:
    waits = result["state"] == "awaiting-approval"
    return f"{result['case']}  flow run {result['flow_run_id']}  {result['url']}" + (
        "  (waiting for the supervisor's approval)" if waits else ""
    )


def checked(
    app: App, files: tuple[Path, ...], *, as_json: bool, cwd: Path | None = None
) -> list[tuple[Path, Plan]]:
    """Every file loaded against the directories; if any is invalid, every problem of every
    file is printed (as `plan validate` prints them) and the command ends, exit 1."""
    plans, invalid = [], []
    for file in files:
        try:
            plans.append((file, _load(app, file, cwd)))
        except InvalidFile as exc:
            invalid.append((file, exc))
    if not invalid:
        return plans
    if as_json:
        emit(
            [
                {"file": str(f), "ok": False, "issues": [vars(i) for i in refused.issues]}
                for f, refused in invalid
            ]
        )
    for file, refused in invalid:
        for i in refused.issues:
            click.echo(
                f"{file}: {i.path}: {i.message}" if i.path else f"{file}: {i.message}", err=True
            )
    click.echo(f"{len(invalid)} of {len(files)} files invalid; nothing was launched", err=True)
    raise click.exceptions.Exit(1)


def launch_many(
    app: App,
    plans: list[tuple[Path, Plan]],
    *,
    by: str | None,
    progress: Callable[[int], None] | None = None,
) -> list[dict[str, Any]]:
    """Launch each plan (a refusal is its outcome, and the others go on; a CHUNK's new cases
    recorded in one transaction), then start the runs of each CHUNK together and follow them
    up as one clock tick's; one outcome per file, in order. `progress` is told how many
    files are done so far. Recording and starting overlap: while STARTING chunks wait on the
    Prefect server, the next is recorded; no more than that wait, so every plan is started
    within moments of being recorded (well inside `engine_client.LAUNCHER_FOLLOWS_UP`)."""
    engine = engine_client.connect(app.settings)  # refuse before recording anything
    needs_approval = _needs_approval(app)
    outcomes: list[dict[str, Any]] = []
    starting: deque[tuple[Future[dict[str, str]] | None, list[dict[str, Any]], int]] = deque()

    def started_next() -> int:
        """The oldest chunk's runs, once started, in its outcomes; how many files are done."""
        future, recorded, done = starting.popleft()
        started = future.result() if future is not None else {}
        for outcome in recorded:
            run = started.get(outcome["case"])
            outcome.update(flow_run_id=run, url=engine.run_url(run))
            if run is None:  # recorded: the clock starts its run at its next tick
                outcome["error"] = str(RunNotCreated(outcome["case"], "not created"))
        return done

    def tell(done: int) -> None:
        if progress is not None:
            progress(done)

    with ThreadPoolExecutor(STARTING, thread_name_prefix="rehab-launch") as starter:
        for first in range(0, len(plans), CHUNK):
            chunk = plans[first : first + CHUNK]
            launched = plan_launches.launch_all(
                app.store,
                app.directories,
                plans=[p for _, p in chunk],
                by=by,
                now=app.now(),
                approval_required=needs_approval,
                followed_up_by=engine.follow_up_by(app),
            )
            recorded: list[dict[str, Any]] = []
            for (file, p), changed in zip(chunk, launched, strict=True):
                outcome: dict[str, Any] = {"file": str(file)}
                outcomes.append(outcome)
                if isinstance(changed, Exception):  # refused (or failed): said, the others go on
                    outcome.update(case=p.case, error=as_user_error(changed, as_json=False).message)
                    continue
                outcome.update(case=changed.code, state=changed.state)
                recorded.append(outcome)
            codes = [o["case"] for o in recorded]
            finished = [started_next() for _ in range(len(starting) - STARTING + 1)]
            future = (
                starter.submit(engine.start_plans, app, codes, threads=THREADS) if codes else None
            )
            starting.append((future, recorded, len(outcomes)))
            # Told only now: a caller who left stops the launch at this line (the engine's
            # socket), and every plan recorded by then is being started already.
            for done in finished:
                tell(done)
        while starting:
            tell(started_next())
    return outcomes


def _progress(total: int) -> Callable[[int], None] | None:
    """A callback printing `launched N/TOTAL` on stderr every PROGRESS_EVERY plans, when
    stderr is a terminal or the batch is large; None otherwise."""
    if total < LARGE and not sys.stderr.isatty():
        return None
    shown = [0]

    def said(done: int) -> None:
        if done - shown[0] >= PROGRESS_EVERY or done == total:
            shown[0] = done
            click.echo(f"launched {done}/{total}", err=True)

    return said
