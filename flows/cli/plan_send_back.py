"""`rehab plan send-back CODE --by STAFF --comment -`: a plan awaiting approval goes back to its
case manager, the comment (from stdin or an editor, never argv) sealed in the case store."""

from __future__ import annotations

import click

from casework.services.send_back import send_back
from flows.cli.context import Context, case_code_argument, emit, note_option, pass_ctx
from flows.prefect import engine_client


@click.command("send-back")
@case_code_argument
@click.option("--by", required=True, help="Staff id of the supervisor sending it back.")
@note_option("--comment", "What the plan needs before it is approved (required)")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_ctx
def plan_send_back(ctx: Context, code: str, by: str, comment: str | None, as_json: bool) -> None:
    """Send a plan awaiting approval back to its case manager, saying what it needs."""
    app = ctx.app
    engine = engine_client.engine(app.settings)
    changed = send_back(
        app.store, app.directories, code=code, comment=comment or "", by=by, now=app.now()
    )
    wake = engine.after_change(app, changed.code)
    if as_json:
        emit({"case": changed.code, "state": changed.state, "sent_back_by": by, "plan": wake})
    else:
        click.echo(f"{changed.code}: sent back to its case manager by {by}; plan {wake}")
