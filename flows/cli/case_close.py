"""`rehab case close`: a case ended for a reason (moved away, contact lost, transferred,
deceased, goals met), then its plan woken so its run ends."""

from __future__ import annotations

import click

from casework.domain.closing import CLOSE_REASONS
from casework.services import closing
from flows.cli.context import Context, case_code_argument, emit, note_option, pass_ctx
from flows.prefect import engine_client


@click.command("close")
@case_code_argument
# A plain option, not a click.Choice: a wrong reason is a user error (one line, exit 1).
@click.option("--reason", required=True, help=f"Why the case ends: {' | '.join(CLOSE_REASONS)}.")
@click.option(
    "--by", required=True, help="Staff id closing it (its manager, supervisor, a director)."
)
@click.option("--to", "to", metavar="ORG", help="The organisation it goes to (transferred only).")
@note_option()
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_ctx
def case_close(
    ctx: Context,
    code: str,
    reason: str,
    by: str,
    to: str | None,
    note: str | None,
    as_json: bool,
) -> None:
    """End a living case for a reason: its open and waiting steps are cancelled and their
    partners told; goals-met completes it, every other reason cancels it."""
    app = ctx.app
    changed = closing.close_case(
        app.store, app.directories, code=code, reason=reason, to=to, by=by, now=app.now(), note=note
    )
    wake = engine_client.engine(app.settings).after_change(app, changed.code)
    shown_to = " ".join(to.split()) if to else None
    if as_json:
        emit({"case": changed.code, "state": changed.state, "reason": reason, "to": shown_to})
    else:
        where = f" to {shown_to}" if shown_to else ""
        click.echo(f"{changed.code}: closed ({reason}{where}); case {changed.state}; plan {wake}")
