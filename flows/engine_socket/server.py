"""The engine's side of its local socket (client.py): in the runner, a thread that does the
commands it may serve for the home's owner with the engine's own App, so a `rehab plan launch`
process costs milliseconds. It serves only:

- the OS user who owns REHAB_HOME (the kernel's peer credentials; the socket is 0600 in a 0700
  home besides), as the CLI itself runs only for that user (security.md rule 4);
- the commands in client.SERVED;
- a caller whose settings are the engine's (its REHAB_* and PREFECT_* environment read as the
  CLI would read it), and who did not ask for tracebacks (REHAB_DEBUG);
- files that are plain files, the same in the engine's process as in its caller's (not
  /dev/stdin, nor a pipe).

Anything else is declined, and the client runs the command itself. One command at a time; the
command runs as the CLI runs it (the same click command, errors and exit codes), its output
kept apart from the engine's other threads (capture.py)."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from flows.app import App
from flows.engine_socket import capture
from flows.engine_socket.client import SOCKET_NAME, peer_uid, servable
from flows.home.engine_record import api_url, as_the_engine_runs
from flows.settings import Settings

log = logging.getLogger("rehab.socket")
MAX_REQUEST = 1024 * 1024  # a command line and its environment; more is not a caller of ours
READ_SECONDS = 5.0  # a caller whose request is not all there by then is declined
ACCEPT_SECONDS = 0.5  # how soon a stop is seen
SEND_SECONDS = 60.0  # a caller whose answer waits this long unread (suspended, say) has left
_OWN_FILES = (Path("/dev"), Path("/proc"))  # files that are each process's own


class CallerGone(Exception):
    """The caller of a served command left (Ctrl-C, say): the command stops at its next line
    (a bulk launch at its next progress line), as it would have stopped in its own process.
    What it recorded until then stays, as after a Ctrl-C."""


class _FromEnvironment(Settings):
    """Settings from a given environment alone (the caller's), not this process's."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Only what is passed in: not this process's environment, nor a .env file."""
        return (init_settings,)


def settings_of(env: Mapping[str, str]) -> Settings | None:
    """The settings a `rehab` command with this environment would use, or None if they are not
    valid (the command, run by its caller, then says why)."""
    values: dict[str, Any] = {
        k.removeprefix("REHAB_").lower(): v for k, v in env.items() if k.startswith("REHAB_")
    }
    if "PREFECT_API_URL" in env:
        values["prefect_api_url"] = env["PREFECT_API_URL"]
    try:
        return as_the_engine_runs(_FromEnvironment(**values))
    except ValidationError:
        return None


def _compared(settings: Settings, cwd: Path) -> dict[str, Any]:
    """What must match: every setting, the Prefect server by the address actually used, and
    files where they are (a relative path is the caller's from its working directory, the
    engine's from its own; so is a SQLite file's)."""
    values = settings.model_dump() | {"prefect_api_url": api_url(settings)}
    for name, value in values.items():
        if isinstance(value, Path):
            values[name] = cwd / value.expanduser()
    url = values["database_url"]
    if url and url.startswith("sqlite") and not url.partition(":///")[2].startswith("/"):
        values["database_url"] = (url, cwd)
    return values


def _not_the_callers(cwd: Path, name: str) -> bool:
    """True if the file `name` would be read otherwise by the engine than by its caller: one
    of a process's own (/dev/stdin, <(...) as /dev/fd/N, /proc/self/...), which the engine
    would take for its own, or not a regular file (a named pipe would stall the socket)."""
    path = cwd / name
    for seen in (Path(os.path.normpath(path)), Path(os.path.realpath(path))):
        if any(seen.is_relative_to(d) for d in _OWN_FILES):
            return True
    return path.exists() and not path.is_file()


def declined(app: App, req: Mapping[str, Any]) -> str | None:
    """Why the engine will not serve this request, or None."""
    argv, env = req.get("argv"), req.get("env")
    if not (isinstance(argv, list) and all(isinstance(a, str) for a in argv) and servable(argv)):
        return "not a command the engine serves"
    if not (isinstance(env, dict) and isinstance(req.get("cwd"), str)):
        return "not a request"
    if any(_not_the_callers(Path(req["cwd"]), a) for a in argv[2:] if not a.startswith("-")):
        return "a file that is not a plain file, or one of the calling process's own"
    if any(k != k.upper() for k in env if k.upper().startswith(("REHAB_", "PREFECT_"))):
        return "a setting named in lower case"
    if "REHAB_DEBUG" in env:
        return "REHAB_DEBUG: the command runs where its traceback can be shown"
    if env.get("HOME") != os.environ.get("HOME"):
        return "another HOME"
    for name, value in env.items():  # Prefect's own settings of the caller's must be ours
        if name.startswith("PREFECT_") and os.environ.get(name) != value:
            return f"another {name}"
    theirs = settings_of(env)
    if theirs is None or _compared(theirs, Path(req["cwd"])) != _compared(app.settings, Path.cwd()):
        return "other settings than the engine's"
    return None


def run_command(app: App, argv: list[str], cwd: Path) -> int:
    """The command as `rehab` runs it, on the engine's App; its exit code."""
    from flows.cli import cli  # noqa: PLC0415  # the command tree, once, on the first call
    from flows.cli.context import Context, as_user_error  # noqa: PLC0415  # as above

    try:
        code = cli.main(
            args=argv, prog_name="rehab", standalone_mode=False, obj=Context(app=app, cwd=cwd)
        )
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("Aborted!", err=True)
        return 1
    except CallerGone:
        raise
    except Exception as exc:  # raised before the command ran (its arguments' callbacks)
        as_user_error(exc, as_json="--json" in argv).show()
        return 1
    return code if isinstance(code, int) else 0


def _read(conn: socket.socket) -> dict[str, Any] | None:
    """The request, read within READ_SECONDS in all (a caller that trickles it, a byte at a
    time, holds the socket no longer than one that sends nothing)."""
    deadline = time.monotonic() + READ_SECONDS
    chunks, size = [], 0
    while True:
        conn.settimeout(max(deadline - time.monotonic(), 0.001))
        try:
            chunk = conn.recv(1 << 16)
        except TimeoutError:
            return None
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_REQUEST:
            return None
    try:
        req = json.loads(b"".join(chunks))
    except ValueError:
        return None
    return req if isinstance(req, dict) else None


def answer(app: App, conn: socket.socket) -> None:
    """Serve one caller: the command's output and exit code, or why it was declined."""
    try:  # read whatever was sent, even a stranger's: a reply to an unread request is lost
        req, owner = _read(conn), peer_uid(conn) == os.geteuid()
    except OSError:
        return
    req = req if owner else None
    try:
        why = "not the home's owner, or not a request" if req is None else declined(app, req)
    except Exception:  # whatever it was, the caller can still run the command itself
        log.exception("could not weigh a command")
        why = "could not be weighed"
    if why is not None or req is None:
        log.info("declined a command (%s): its caller runs it", why)
        with contextlib.suppress(CallerGone):
            _Lines(conn, "served").send(False, why=why)
        return
    conn.settimeout(SEND_SECONDS)  # a caller that stops reading this long has left
    out, err = capture.install()
    command = " ".join(req["argv"][:2])
    try:
        with out.sent_to(_Lines(conn, "out")), err.sent_to(_Lines(conn, "err")):
            code = run_command(app, req["argv"], Path(req["cwd"]))
    except CallerGone:
        log.warning("the caller of `rehab %s` left: it stopped at its next line", command)
        return
    log.info("served `rehab %s` (exit %d)", command, code)
    with contextlib.suppress(CallerGone):  # done and recorded: only the exit code is lost
        _Lines(conn, "exit").send(code)


class _Lines:
    """The answer as JSON lines, each sent as it is written: `{"out": text}`, `{"err": text}`,
    then `{"exit": code}`; or one `{"served": false, "why": ...}`."""

    def __init__(self, conn: socket.socket, field: str) -> None:
        self.conn, self.field = conn, field

    def send(self, value: Any, **more: Any) -> None:
        """Send one line; CallerGone if no one reads it any more."""
        try:
            self.conn.sendall(json.dumps({self.field: value, **more}).encode() + b"\n")
        except OSError as exc:
            raise CallerGone from exc

    def write(self, text: str, /) -> int:
        """Send what the command printed."""
        self.send(text)
        return len(text)


def serve_commands(app: App, stop: threading.Event) -> None:
    """Answer the socket until `stop` is set; without a socket (the path too long for one, say)
    every command runs in its own process, as before."""
    path = app.settings.home_dir / SOCKET_NAME
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        if path.is_socket():  # left by an engine that stopped without cleaning up
            path.unlink()
        listener.bind(str(path))  # in the 0700 home: no one else reaches it meanwhile
        path.chmod(0o600)
        listener.listen(16)
    except OSError as exc:
        log.warning("no engine socket at %s (%s): commands run on their own", path, exc)
        listener.close()
        return
    listener.settimeout(ACCEPT_SECONDS)
    try:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                try:
                    answer(app, conn)
                except Exception:  # one caller's trouble never stops the socket
                    log.exception("a served command failed")
    finally:
        listener.close()
        path.unlink(missing_ok=True)
