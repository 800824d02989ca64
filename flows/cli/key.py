"""`rehab key rotate`: a new master key, every case's data key re-wrapped under it."""

from __future__ import annotations

import click

from casework.services import keys
from flows.cli.context import Context, emit, pass_ctx


@click.group()
def key() -> None:
    """The master key that wraps every case's data key."""


@key.command("rotate")
@click.option("--json", "as_json", is_flag=True, help="Print what was done as JSON.")
@pass_ctx
def key_rotate(ctx: Context, as_json: bool) -> None:
    """Make a new master key and re-wrap every case's data key under it; the engine may run
    on meanwhile. Back up the new key file (REHAB_SECRET_KEY_FILE) at once."""
    app = ctx.app
    done = keys.rotate(app.store, now=app.now())
    if as_json:
        emit(done)
    else:
        click.echo(
            f"a new master key wraps the data keys of {done['data_keys']} cases; "
            + (
                "the old key is kept, for notes written before cases had data keys; "
                if done["old_key_kept"]
                else "the old key is retired; "
            )
            + f"back up {app.settings.key_file} now"
        )
