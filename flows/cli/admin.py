"""`rehab up` and `rehab db upgrade`: running the engine and keeping its store current."""

from __future__ import annotations

import click

from casework.store.db import current_revision, head_revision
from flows.cli.context import Context, emit, pass_ctx


@click.group()
def db() -> None:
    """The case store's database."""


@db.command("upgrade")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_ctx
def db_upgrade(ctx: Context, as_json: bool) -> None:
    """Bring the case store's schema to the newest migration."""
    store = ctx.app.store  # opening migrates
    result = {"revision": current_revision(store.engine), "newest": head_revision()}
    if as_json:
        emit(result)
    else:
        click.echo(f"case store at revision {result['revision']} (newest: {result['newest']})")


@click.command("up")
@click.option(
    "--examples",
    is_flag=True,
    help="Also launch the example plans (plans/examples/), for a first look.",
)
@pass_ctx
def up(ctx: Context, examples: bool) -> None:
    """Start the Prefect server (unless PREFECT_API_URL is set) and serve the plan engine."""
    from flows.processes.up import up as run_up  # noqa: PLC0415  # keeps `rehab --help` fast
    from flows.settings import EXAMPLES, load_settings  # noqa: PLC0415  # keeps `rehab --help` fast

    # `rehab up` decides what the engine uses (from its environment) and records it; it
    # never reads an earlier start's record.
    ctx.settings = load_settings()
    files = sorted(p for p in EXAMPLES.glob("*.yaml") if p.stem not in ("partners", "staff"))
    run_up(ctx.app, examples=files if examples else [])
