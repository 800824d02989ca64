"""`rehab case purge`: erasure of a closed case, on a director's order."""

from __future__ import annotations

import click

from flows.cli.context import Context, case_code_argument, emit, pass_ctx, reason_option
from flows.prefect import engine_client


@click.group("case")
def case_group() -> None:
    """Cases as a whole: bring in earlier ones, erase one."""


@case_group.command("purge")
@case_code_argument
@reason_option(argv_allowed=True)
@click.option("--by", required=True, help="The director ordering it.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_ctx
def case_purge(ctx: Context, code: str, reason: str, by: str, as_json: bool) -> None:
    """Erase an ended case at once: its person, notes and data key destroyed (no backup opens
    them again), its queued messages withdrawn, its Prefect runs and artifacts deleted (their
    logs at the server's next orphan sweep); the audit log keeps who, when and why."""
    from flows.erasing import purge_case  # noqa: PLC0415  # imports prefect

    app = ctx.app
    engine_client.connect(app.settings)  # Prefect's side must go too: refuse if it is away
    runs = purge_case(app, code, reason=reason, by=by)
    if as_json:
        emit({"case": code, "purged": True, "runs_deleted": runs})
    else:
        click.echo(
            f"{code}: purged; {runs} flow runs deleted in Prefect; the audit log keeps "
            "the tombstone"
        )
