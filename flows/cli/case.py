"""`rehab consent|checkin|step|rule ...`: what case managers record about a case."""

from __future__ import annotations

import click

from casework.domain.case import RECORDED_OUTCOMES, ConsentStatus, RecordedOutcome
from casework.services import recording
from casework.services.unit_of_work import Changed
from flows.cli.context import Context, case_code_argument, emit, note_option, pass_ctx
from flows.prefect import engine_client

json_option = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")


def _done(ctx: Context, code: str, what: str, changed: Changed, as_json: bool) -> None:
    wake = engine_client.engine(ctx.app.settings).after_change(ctx.app, code)
    if as_json:
        emit(
            {
                "case": code,
                "did": what,
                "state": changed.state,
                "revision": changed.revision,
                "plan": wake,
            }
        )
    else:
        click.echo(f"{code}: {what}; case {changed.state}; plan {wake}")


@click.group()
def consent() -> None:
    """Consent: record it (given or refused) or withdraw it."""


@consent.command("record")
@case_code_argument
@click.option("--scope", "scopes", multiple=True, required=True, help="A consent scope.")
@click.option("--given/--refused", required=True, help="What the person decided.")
@click.option("--by", required=True, help="Staff id recording it.")
@note_option()
@json_option
@pass_ctx
def consent_record(
    ctx: Context,
    code: str,
    scopes: tuple[str, ...],
    given: bool,
    by: str,
    note: str | None,
    as_json: bool,
) -> None:
    """Record consent given or refused for one or more scopes."""
    status: ConsentStatus = "given" if given else "refused"
    changed = recording.record_consent(
        ctx.app.store,
        ctx.app.directories,
        code=code,
        scopes=list(scopes),
        status=status,
        by=by,
        now=ctx.app.now(),
        note=note,
    )
    _done(ctx, code, f"consent {status} for {', '.join(scopes)}", changed, as_json)


@consent.command("withdraw")
@case_code_argument
@click.option("--scope", "scopes", multiple=True, help="A consent scope.")
@click.option("--all", "everything", is_flag=True, help="Withdraw all consent: the plan ends.")
@click.option("--by", required=True, help="Staff id recording it.")
@note_option()
@json_option
@pass_ctx
def consent_withdraw(
    ctx: Context,
    code: str,
    scopes: tuple[str, ...],
    everything: bool,
    by: str,
    note: str | None,
    as_json: bool,
) -> None:
    """Withdraw consent for some scopes, or --all (every open step ends; the plan is
    cancelled)."""
    if everything == bool(scopes):
        raise click.UsageError("give either --scope S (one or more) or --all")
    app = ctx.app
    if everything:
        changed = recording.withdraw_all(
            app.store, app.directories, code=code, by=by, now=app.now(), note=note
        )
        _done(ctx, code, "all consent withdrawn", changed, as_json)
    else:
        changed = recording.record_consent(
            app.store,
            app.directories,
            code=code,
            scopes=list(scopes),
            status="withdrawn",
            by=by,
            now=app.now(),
            note=note,
        )
        _done(ctx, code, f"consent withdrawn for {', '.join(scopes)}", changed, as_json)


@click.group()
def checkin() -> None:
    """Check-ins: record how one went."""


@checkin.command("record")
@case_code_argument
@click.argument("step")
@click.option("--outcome", type=click.Choice(RECORDED_OUTCOMES), required=True)
@click.option("--by", required=True, help="Staff id recording it.")
@note_option()
@json_option
@pass_ctx
def checkin_record(
    ctx: Context,
    code: str,
    step: str,
    outcome: RecordedOutcome,
    by: str,
    note: str | None,
    as_json: bool,
) -> None:
    """Record the outcome of the step's oldest check-in still waiting for one."""
    result = recording.record_check_in(
        ctx.app.store,
        ctx.app.directories,
        code=code,
        step=step,
        outcome=outcome,
        by=by,
        now=ctx.app.now(),
        note=note,
    )
    _done(ctx, code, f"check-in of {step}: {outcome}", result, as_json)


@click.group()
def step() -> None:
    """Steps: complete one by hand."""


@step.command("complete")
@case_code_argument
@click.argument("step_id", metavar="STEP")
@click.option("--by", required=True, help="Staff id recording it.")
@note_option()
@json_option
@pass_ctx
def step_complete(
    ctx: Context, code: str, step_id: str, by: str, note: str | None, as_json: bool
) -> None:
    """Mark an open step completed."""
    changed = recording.complete_step(
        ctx.app.store,
        ctx.app.directories,
        code=code,
        step=step_id,
        by=by,
        now=ctx.app.now(),
        note=note,
    )
    _done(ctx, code, f"step {step_id} completed", changed, as_json)


@click.group()
def rule() -> None:
    """Programme rules: record a breach."""


@rule.command("breach")
@case_code_argument
@click.option("--rule", "rule_name", required=True, help="The rule broken, e.g. sobriety.")
@click.option("--by", required=True, help="Staff id recording it.")
@note_option()
@json_option
@pass_ctx
def rule_breach(
    ctx: Context, code: str, rule_name: str, by: str, note: str | None, as_json: bool
) -> None:
    """Record a breach of a programme rule: the plan is terminated; coming back needs a
    supervisor's approval."""
    changed = recording.breach(
        ctx.app.store,
        ctx.app.directories,
        code=code,
        rule=rule_name,
        by=by,
        now=ctx.app.now(),
        note=note,
    )
    _done(ctx, code, f"rule {rule_name} breached", changed, as_json)
