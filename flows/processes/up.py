"""`rehab up`: the embedded Prefect server (unless PREFECT_API_URL is set), the runner and the
door, as child processes in their own sessions (flows/processes/children.py), so Ctrl-C closes the
door, drains the runner, then stops the server; `rehab auth rotate` (SIGHUP) restarts the three with
a new auth string. A new `rehab up` on the same REHAB_HOME ends whatever an earlier one left
behind, so a restart after a crash just works."""

from __future__ import annotations

import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import click

from casework.services.programme import approval_required
from flows.app import App
from flows.home.engine_record import write_record
from flows.prefect import auth_rotation, engine_client
from flows.prefect.errors import EngineUnreachable
from flows.processes.children import (
    die_with_parent,
    end_leftovers,
    pids_file,
    remember,
    single_instance,
    start_door,
    start_runner,
    start_server,
    stop,
)
from flows.processes.errors import ProcessStopped
from flows.processes.mail_catcher import inbox
from flows.processes.up_examples import launch_examples, mail_for_examples, saved_views
from flows.settings import Settings


def banner(app: App, *, launched: list[str], mail: subprocess.Popen[bytes] | None) -> str:
    """What `rehab up` says once it is up: the one address, how to sign in, where things are."""
    settings = app.settings
    lines = [
        f"rehab is up: {settings.door_url}/",
        "  staff sign in there as themselves: `rehab staff enrol ID` prints their invite "
        "link and authenticator secret",
    ]
    lines += [
        f"  case store: {app.store.engine.url.render_as_string()}",
        f"  logs: {settings.home_dir / 'logs'}",
    ]
    if launched:
        lines.append(f"  example plans launched: {', '.join(launched)}")
    if mail is not None:
        lines.append(
            f"  what partners and staff received: {inbox(settings.home_dir)} "
            "(received.log, and one .eml file per message)"
        )
    return "\n".join(lines) + "\n"


@dataclass
class Running:
    """What `rehab up` runs: its children, their logs, and what a signal asked of it."""

    settings: Settings
    logs: dict[str, IO[str]]
    runner_env: dict[str, str]
    server: subprocess.Popen[bytes] | None
    runner: subprocess.Popen[bytes]
    door: subprocess.Popen[bytes]
    catcher: subprocess.Popen[bytes] | None
    stopping: bool = False
    rotating: bool = False
    asked: list[str] = field(default_factory=list)

    def listen(self) -> None:
        """Ctrl-C and SIGTERM stop it; SIGHUP (`rehab auth rotate`) renews the auth string."""

        def on_stop(*_: object) -> None:
            self.stopping = True

        def on_hangup(*_: object) -> None:
            self.rotating = True

        signal.signal(signal.SIGINT, on_stop)
        signal.signal(signal.SIGTERM, on_stop)
        signal.signal(signal.SIGHUP, on_hangup)

    def note(self) -> None:
        """The children in REHAB_HOME/up.pids, for the next start's sweep."""
        remember(
            self.settings.home_dir,
            [p for p in (self.server, self.runner, self.catcher, self.door) if p is not None],
        )

    def watch(self) -> None:
        """Until Ctrl-C: a child that stops ends `rehab up`, naming its log."""
        logs = self.settings.home_dir / "logs"
        while not self.stopping:
            if self.rotating:
                self.rotating = False
                self.renew_auth()
            for name, process, log in (
                ("the runner", self.runner, "runner.log"),
                ("the door", self.door, "door.log"),
                ("the Prefect server", self.server, "prefect-server.log"),
            ):
                if process is not None and process.poll() is not None:
                    raise ProcessStopped(name, logs / log, process.returncode)
            time.sleep(0.5)

    def renew_auth(self) -> None:
        """Restart the door, the runner and the server with the auth string waiting for them
        (runs in flight finish first): the old string opens nothing afterwards."""
        click.echo("renewing Prefect's auth string: restarting the server, the runner and the door")
        stop(self.door, "the door", timeout=10)
        stop(self.runner, "the runner")
        if self.server is not None:
            stop(self.server, "the Prefect server", timeout=30)
        auth_rotation.take_pending(self.settings)
        if self.server is not None:
            self.server = start_server(self.settings, self.logs["server"])
        self.runner = start_runner(self.settings, self.logs["runner"], self.runner_env)
        self.door = start_door(self.settings, self.logs["door"])
        self.note()
        auth_rotation.done(self.settings)
        click.echo("Prefect's auth string renewed; the old one opens nothing.")

    def stop_all(self, app: App) -> None:
        """Stop the children, the door first (no new decisions), then the runner (it drains);
        then erase what the stopping server still wrote of a case purged in the last hour."""
        stop(self.door, "the door", timeout=10)
        stop(self.runner, "the runner")
        if self.catcher is not None:
            stop(self.catcher, "the mail catcher", timeout=10)
        if self.server is not None:
            stop(self.server, "the Prefect server", timeout=30)
            from flows.erasing import erase_after_stop  # noqa: PLC0415  # imports prefect

            try:
                erase_after_stop(app)
            except Exception as exc:  # the next start's clock follow-up tries again
                why = type(exc).__name__
                click.echo(f"could not look for purged cases' traces ({why})", err=True)
        pids_file(app.settings.home_dir).unlink(missing_ok=True)


def _prepare(app: App) -> None:
    """Before any child: the store migrated and its key checked, the directories checked, the
    programme's approval default recorded, and the engine's record written."""
    settings = app.settings
    app.store  # noqa: B018  # migrate the case store and check its key before anything runs
    app.directories  # noqa: B018  # refuse bad directories now, not at the first message
    # The engine's default for a programme whose configuration says nothing.
    approval_required(
        app.store, app.directories, engine_default=settings.require_approval, now=app.now()
    )
    # A rotation asked for while no server ran (or cut short): the string it made is the one.
    if auth_rotation.take_pending(settings):
        auth_rotation.done(settings)
    # Before the server starts: from now on commands (and this one) know which server is the
    # embedded one, the only one sent REHAB_HOME's auth string.
    write_record(settings, partners_file=settings.partners_file, staff_file=settings.staff_file)


def up(app: App, *, examples: list[Path]) -> None:
    """Run the engine until Ctrl-C."""
    settings = app.settings
    home = settings.home_dir
    logs = home / "logs"
    with single_instance(home):
        ended = end_leftovers(home)
        if ended:
            click.echo(
                f"ended what an earlier `rehab up` left running (pids {', '.join(map(str, ended))})"
            )
        logs.mkdir(exist_ok=True)
        _prepare(app)
        with (
            (logs / "prefect-server.log").open("a") as server_log,
            (logs / "runner.log").open("a") as runner_log,
            (logs / "mail-catcher.log").open("a") as mail_log,
            (logs / "door.log").open("a") as door_log,
        ):
            server = None
            if settings.prefect_api_url is None:
                click.echo(f"starting the Prefect server (SQLite in {home / 'prefect'}) ...")
                server = start_server(settings, server_log)
            elif not engine_client.is_up(settings):
                raise EngineUnreachable(engine_client.api_url(settings))
            catcher, runner_env = mail_for_examples(
                settings, mail_log, examples=bool(examples), preexec=die_with_parent
            )
            running = Running(
                settings,
                {"server": server_log, "runner": runner_log, "door": door_log},
                runner_env,
                server=server,
                runner=start_runner(settings, runner_log, runner_env),
                door=start_door(settings, door_log),
                catcher=catcher,
            )
            running.note()
            running.listen()
            try:
                launched = launch_examples(app, examples)
                click.echo(
                    banner(app, launched=launched, mail=catcher)
                    + saved_views(settings)
                    + "Press Ctrl-C to stop (runs in flight finish first)."
                )
                running.watch()
                click.echo("stopping: letting runs in flight finish ...")
            finally:
                running.stop_all(app)
        click.echo("stopped.")
