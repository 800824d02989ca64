"""The `rehab` command: exit 0 on success, 1 on a user error (one line, no traceback), 2 on
bad usage."""

from __future__ import annotations

import json
import logging
import os
import sys
from typing import Any

import click
from sqlalchemy.exc import DBAPIError

from casework.store.db import current_revision, database_reason, head_revision
from flows.app import App
from plans.errors import RehabError


def emit(data: Any) -> None:
    """Print data as JSON."""
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


class Context:
    """Lazily-built App shared by the subcommands."""

    def __init__(self) -> None:
        self._app: App | None = None

    @property
    def app(self) -> App:
        """The composition root, built on first use."""
        if self._app is None:
            self._app = App()
        return self._app


pass_ctx = click.make_pass_decorator(Context, ensure=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="rehab")
def cli() -> None:
    """rehab: individual rehabilitation plans, run as long-lived Prefect flows."""


@cli.group()
def db() -> None:
    """The case store's database."""


@db.command("upgrade")
@pass_ctx
def db_upgrade(ctx: Context) -> None:
    """Bring the case store's schema to the newest migration."""
    store = ctx.app.store  # opening migrates
    click.echo(f"case store at revision {current_revision(store.engine)} "
               f"(newest: {head_revision()})")


def _fail(message: str) -> None:
    for line in message.splitlines() or ["error"]:
        click.echo(f"error: {line}", err=True)
    sys.exit(1)


def _quiet_prefect_workers() -> None:
    """Prefect's log and event workers announce their own shutdown ("Still processing
    items ...") on stderr: a command prints what it did and nothing else."""
    for name in ("APILogWorker", "EventsWorker"):
        logging.getLogger(name).setLevel(logging.ERROR)


def main() -> None:
    """Entry point: run the CLI, turning user errors into one line on stderr and exit 1."""
    from flows import cli_case, cli_partners, cli_plan  # noqa: F401, PLC0415  # registers the subcommands

    _quiet_prefect_workers()
    try:
        code = cli.main(standalone_mode=False)  # returns the code of a command's Exit
        if isinstance(code, int) and code:
            sys.exit(code)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except RehabError as exc:
        _fail(str(exc))
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except DBAPIError as exc:
        # SQLAlchemy's own message quotes the statement and its parameters: say only what
        # the database said, and that the transaction (so the whole change) was rolled back.
        _fail(f"the case store could not complete this ({database_reason(exc)}); the change "
              "that failed was not saved: try again in a moment")
    except Exception as exc:
        if os.environ.get("REHAB_DEBUG"):
            raise
        # A traceback may quote a channel URL or a database password: name the error only.
        _fail(f"unexpected {type(exc).__name__}; nothing is shown of it, since it may hold a "
              "secret: run again with REHAB_DEBUG=1 to see the traceback")


@cli.command("up")
@click.option("--examples", is_flag=True,
              help="Also launch the example plans (plans/examples/), for a first look.")
@pass_ctx
def up_command(ctx: Context, examples: bool) -> None:
    """Start the Prefect server (unless PREFECT_API_URL is set) and serve the plan engine."""
    from flows.settings import EXAMPLES  # noqa: PLC0415  # keeps `rehab --help` fast
    from flows.up import up  # noqa: PLC0415  # keeps `rehab --help` fast

    files = sorted(p for p in EXAMPLES.glob("*.yaml") if p.stem not in ("partners", "staff"))
    up(ctx.app, examples=files if examples else [])
