"""`rehab plan ...`: write, check, preview, launch, approve, amend and look at plans."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from casework.domain.case import STORED_STATES
from casework.domain.simulation import simulate
from casework.services import plan_changes, recording
from casework.services.programme import predicted_approval
from casework.store import queries
from flows.cli.context import Context, case_code_argument, emit, note_option, pass_ctx
from flows.cli.errors import WrongRole
from flows.cli.output import check_new_file, write_new_file
from flows.prefect import engine_client
from flows.shown.render import simulation_json, simulation_text, status_text
from plans.dates import RANGE, parse_datetime
from plans.durations import EXAMPLE, parse_duration
from plans.errors import BadOption, InvalidFile, UnknownTemplate
from plans.loading import load_plan
from plans.model import Plan


@click.group()
def plan() -> None:
    """Plans: new, validate, simulate, launch, approve, amend, status, list."""


def _load(ctx: Context, file: Path) -> Plan:
    return load_plan(file, ctx.app.directories)


@plan.command("new")
@click.option("--template", "template", required=True, help="Template name, e.g. acute-crisis.")
@click.option("--case", "case", required=True, help="The case code, e.g. BC-2026-0042.")
@click.option("--manager", help="Staff id of the case manager (default: the template's).")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="Write the plan here (default: print it).",
)
@click.option("--json", "as_json", is_flag=True, help="Print what was written as JSON.")
@pass_ctx
def plan_new(
    ctx: Context, template: str, case: str, manager: str | None, output: Path | None, as_json: bool
) -> None:
    """Start a plan from a template, ready to edit."""
    templates = ctx.app.settings.templates_dir
    source = templates / f"{template}.yaml"
    if not re.fullmatch(r"[a-z0-9-]+", template) or not source.is_file():
        raise UnknownTemplate(template, sorted(p.stem for p in templates.glob("*.yaml")))
    if not re.fullmatch(r"[A-Za-z0-9-]{3,40}", case):
        raise BadOption(
            "--case", case, "a case code: 3-40 of A-Z a-z 0-9 and '-', e.g. BC-2026-0042"
        )
    if manager is not None and manager not in ctx.app.directories.staff.with_role("case-manager"):
        raise WrongRole(
            manager,
            "case-manager",
            ctx.app.directories.staff_file,
            ctx.app.directories.staff.with_role("case-manager"),
        )
    if output is not None:
        check_new_file(output)
    # Functions, not replacement strings: a value is inserted as it is, never read as a pattern.
    text = re.sub(
        r"(?m)^case:.*$", lambda _: f"case: {case}", source.read_text(encoding="utf-8"), count=1
    )
    if manager:
        text = re.sub(r"(?m)^manager:.*$", lambda _: f"manager: {manager}", text, count=1)
    load_plan(output or f"<plan from {template}>", ctx.app.directories, text=text)  # must parse
    if output is None:
        click.echo(text, nl=False)
        return
    write_new_file(output, text.encode("utf-8"))  # the case manager's alone (0600)
    if as_json:
        emit({"case": case, "template": template, "file": str(output)})
        return
    click.echo(
        f"wrote {output} (case {case}, from template {template}); edit it, then "
        f"`rehab plan validate {output}` and `rehab plan simulate {output}`"
    )


@plan.command("validate")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_ctx
def plan_validate(ctx: Context, files: tuple[Path, ...], as_json: bool) -> None:
    """Check plan files against the contract and the directories; every problem is listed."""
    results: list[dict[str, Any]] = []
    for file in files:
        try:
            p = _load(ctx, file)
            results.append(
                {"file": str(file), "ok": True, "case": p.case, "steps": len(p.steps), "issues": []}
            )
        except InvalidFile as exc:
            results.append(
                {
                    "file": str(file),
                    "ok": False,
                    "issues": [{"path": i.path, "message": i.message} for i in exc.issues],
                }
            )
    bad = [r for r in results if not r["ok"]]
    if as_json:
        emit(results)
    else:
        for r in results:
            if r["ok"]:
                click.echo(f"{r['file']}: ok (case {r['case']}, {r['steps']} steps)")
            else:
                for issue in r["issues"]:
                    click.echo(
                        f"{r['file']}: {issue['path']}: {issue['message']}"
                        if issue["path"]
                        else f"{r['file']}: {issue['message']}",
                        err=True,
                    )
    if bad:
        raise click.exceptions.Exit(1)


@plan.command("simulate")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the timeline as JSON.")
@click.option(
    "--horizon",
    default="365d",
    show_default=True,
    help="How far after the start to look (a duration).",
)
@click.option("--launch-at", help="Pretend the launch is at this ISO time (default: now).")
@pass_ctx
def plan_simulate(
    ctx: Context, file: Path, as_json: bool, horizon: str, launch_at: str | None
) -> None:
    """Print, without launching, what will happen and who is told, in the plan's time zone."""
    p = _load(ctx, file)
    try:
        span = parse_duration(horizon)
    except ValueError as exc:
        raise BadOption("--horizon", horizon, EXAMPLE) from exc
    when = datetime.now(UTC)
    if launch_at:
        try:
            when = parse_datetime(launch_at)
        except ValueError:
            raise BadOption(
                "--launch-at", launch_at, f"an ISO time like 2026-12-01T09:00, {RANGE}"
            ) from None
        when = when if when.tzinfo else when.replace(tzinfo=p.tz)
    sim = simulate(
        p,
        ctx.app.directories,
        launch_at=when,
        horizon=span,
        approval_required=predicted_approval(ctx.app.directories),
        file=str(file),
    )
    if as_json:
        emit(simulation_json(sim))
    else:
        click.echo(simulation_text(sim))


@plan.command("approve")
@case_code_argument
@click.option("--by", required=True, help="Staff id of the approving supervisor.")
@note_option("--comment", "A comment for the record")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_ctx
def plan_approve(ctx: Context, code: str, by: str, comment: str | None, as_json: bool) -> None:
    """Approve a plan that waits for a supervisor."""
    app = ctx.app
    engine = engine_client.engine(app.settings)
    changed = recording.approve(
        app.store, app.directories, code=code, by=by, now=app.now(), comment=comment
    )
    wake = engine.after_change(app, code)
    if as_json:
        emit({"case": code, "state": changed.state, "approved_by": by, "plan": wake})
    else:
        click.echo(f"{code}: approved by {by}; plan {wake}")


@plan.command("amend")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--by", help="Staff id amending it (default: the plan's case manager).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_ctx
def plan_amend(ctx: Context, file: Path, by: str | None, as_json: bool) -> None:
    """Store a new revision of a running plan; it applies to what has not happened yet."""
    app = ctx.app
    p = _load(ctx, file)
    engine = engine_client.engine(app.settings)
    changed = plan_changes.amend(
        app.store, app.directories, plan=p, by=by or p.manager, now=app.now()
    )
    wake = engine.after_change(app, changed.code)
    if as_json:
        emit({"case": changed.code, "state": changed.state, "revision": changed.revision,
              "plan": wake})  # fmt: skip
    else:
        click.echo(f"{changed.code}: revision {changed.revision} recorded; plan {wake}")


@plan.command("status")
@case_code_argument
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@pass_ctx
def plan_status(ctx: Context, code: str, as_json: bool) -> None:
    """Show a case's state, steps, check-ins and messages."""
    status = queries.case_status(ctx.app.store, code=code)
    if as_json:
        emit(status)
    else:
        click.echo(status_text(status, engine_client.ui_url(ctx.app.settings)))


@plan.command("list")
@click.option("--state", type=click.Choice(STORED_STATES), help="Only cases in this state.")
@click.option("--manager", help="Only this case manager's cases.")
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
@pass_ctx
def plan_list(ctx: Context, state: str | None, manager: str | None, as_json: bool) -> None:
    """List cases, newest first."""
    rows = queries.list_cases(ctx.app.store, state=state, manager=manager)
    if as_json:
        emit(rows)
        return
    if not rows:
        click.echo("no cases")
    for r in rows:
        click.echo(
            f"{r['case']:<16} {r['state'] + (' QUARANTINED' if r['quarantined'] else ''):<18} "
            f"{r['manager']:<14} "
            f"{r['template'] or '-':<24} rev {r['revision']}"
        )
