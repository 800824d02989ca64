"""What every `rehab` command shares: the lazily built App, JSON output, and one place that
turns errors into what the operator sees (one line, exit 1; the error as data with --json)."""

from __future__ import annotations

import json
import os
import pwd
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

import click
from click.decorators import FC
from sqlalchemy.exc import DBAPIError

from casework.services.unit_of_work import canonical_code
from casework.store.db import database_reason
from flows.app import App
from flows.cli.errors import EmptyNote, NoteOnCommandLine, NotTheOperator
from flows.settings import Settings
from plans.errors import RehabError


def emit(data: Any) -> None:
    """Print data as JSON."""
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


class Context:
    """Lazily-built App shared by the subcommands; or the engine's, lent to a command it
    serves (flows/engine_socket/server.py) with its caller's working directory `cwd`."""

    def __init__(self, *, app: App | None = None, cwd: Path | None = None) -> None:
        self._app: App | None = app
        self.settings: Settings | None = None  # None: the engine's (flows/home/engine_record.py)
        self.cwd = cwd
        if app is None:  # a lent App stays open for the engine
            click.get_current_context().call_on_close(self.close)

    def close(self) -> None:
        """Release the store's connections when the command ends."""
        if self._app is not None:
            self._app.close()

    @property
    def app(self) -> App:
        """The composition root, built on first use, for REHAB_HOME's owner only."""
        if self._app is None:
            app = App(self.settings)
            refuse_strangers(app.settings.home_dir)
            self._app = app
        return self._app


pass_ctx = click.make_pass_decorator(Context, ensure=True)


def case_code(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A CODE argument as the case store spells it, whatever the case of the letters typed
    (contract v3), so the command, its output and its runs name the case one way."""
    if value is None:
        return None
    return canonical_code(ctx.ensure_object(Context).app.store, value)


case_code_argument = click.argument("code", callback=case_code)


def _name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def refuse_strangers(home: Path) -> None:
    """The CLI is the operator's tool (security.md rule 4): it runs only as the OS user who
    owns REHAB_HOME (a home not made yet is made by whoever runs it first)."""
    try:
        owner = home.stat().st_uid
    except FileNotFoundError:
        return
    if owner != os.geteuid():
        raise NotTheOperator(home, _name(owner), _name(os.geteuid()))


class UserError(click.ClickException):
    """An error of the error module (or one the database or a library raised), as click shows
    it: `error: ...` on stderr, one line per line of the message, exit 1; with `--json`, the
    error as data on stdout too."""

    exit_code = 1

    def __init__(self, message: str, data: dict[str, Any], as_json: bool) -> None:
        super().__init__(message)
        self.data, self.as_json = data, as_json

    def show(self, file: IO[Any] | None = None) -> None:
        """Print it."""
        if self.as_json:
            emit(self.data)
        for line in self.message.splitlines() or ["error"]:
            click.echo(f"error: {line}", err=True)


def as_user_error(exc: Exception, *, as_json: bool) -> UserError:
    """The error the operator sees for `exc`; anything unexpected is named, never quoted (its
    text may hold a channel URL or a password) unless REHAB_DEBUG asks for the traceback."""
    if isinstance(exc, RehabError):
        return UserError(str(exc), exc.as_data(), as_json)
    if isinstance(exc, DBAPIError):
        # SQLAlchemy's message quotes the statement and its parameters: say only what the
        # database said, and that the transaction (so the change) was rolled back.
        message = (
            f"the case store could not complete this ({database_reason(exc)}); the "
            "change that failed was not saved: try again in a moment"
        )
        return UserError(message, {"error": "store-failed", "message": message}, as_json)
    message = (
        f"unexpected {type(exc).__name__}; nothing is shown of it, since it may hold a "
        "secret: run again with REHAB_DEBUG=1 to see the traceback"
    )
    return UserError(message, {"error": "unexpected", "message": message}, as_json)


class RehabGroup(click.Group):
    """The root group: every command's errors pass through `as_user_error` here, so the
    installed command and tests through click's runner see the same thing."""

    _args: Sequence[str] = ()

    def main(self, args: Sequence[str] | None = None, *pos: Any, **kwargs: Any) -> Any:
        """Remember the arguments (for --json on an error), then run."""
        self._args = list(args) if args is not None else sys.argv[1:]
        return super().main(self._args, *pos, **kwargs)

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; map what it raised."""
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as exc:
            if os.environ.get("REHAB_DEBUG") and not isinstance(exc, RehabError):
                raise
            raise as_user_error(exc, as_json="--json" in self._args) from exc


def _read_note(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """`--note -`: the note from stdin, or from $EDITOR when stdin is a terminal. Text given
    on the command line is refused: argv is visible to every local user."""
    option = (param.opts or ["--note"])[0]
    if value is None:
        return None
    if value != "-":
        raise NoteOnCommandLine(option)
    return _typed(option)


def _typed(option: str) -> str:
    """What the operator typed on stdin (or in $EDITOR at a terminal) for `option -`."""
    text = click.edit("") if sys.stdin.isatty() else sys.stdin.read()
    if not text or not text.strip():
        raise EmptyNote(option)
    return text.strip()


def reason_option(*, argv_allowed: bool = False) -> Callable[[FC], FC]:
    """A required `--reason`: `-` reads it from stdin (or $EDITOR), like a note; text on the
    command line is refused unless the contract keeps it there (`argv_allowed`)."""

    def read(ctx: click.Context, param: click.Parameter, value: str) -> str:
        if value == "-":
            return _typed("--reason")
        if not argv_allowed:
            raise NoteOnCommandLine("--reason")
        return value

    where = "`-` reads it from stdin, or opens $EDITOR on a terminal"
    if argv_allowed:
        where += " (text given here is visible to every user of this machine)"
    return click.option(
        "--reason",
        required=True,
        callback=read,
        metavar="-" if not argv_allowed else "TEXT|-",
        help=f"Why (kept in the audit log; never a name or date of birth): {where}.",
    )


def note_option(name: str = "--note", what: str = "A note for the record") -> Callable[[FC], FC]:
    """A note option read from stdin or an editor, never argv (security.md rule 7)."""
    return click.option(
        name,
        callback=_read_note,
        metavar="-",
        help=f"{what} (kept sealed): `-` reads it from stdin, or opens $EDITOR on a terminal.",
    )
