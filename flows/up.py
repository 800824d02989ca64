"""`rehab up`: the embedded Prefect server (unless PREFECT_API_URL is set), the runner and the
door, as child processes in their own sessions, so Ctrl-C closes the door, drains the runner,
then stops the server.

The children end with `rehab up` even if it is killed (Linux's parent-death signal), and a new
`rehab up` on the same REHAB_HOME ends whatever an earlier one left behind, so a restart after
a crash just works."""

from __future__ import annotations

import ctypes
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO

import click

from casework.programme import approval_required
from flows import engine_client
from flows.app import App
from flows.engine_record import write_record
from flows.logfiles import logged
from flows.mail_catcher import inbox
from flows.prefect_server import server_command, server_environment
from flows.settings import Settings
from flows.up_examples import launch_examples, mail_for_examples, saved_views
from plans.errors import (
    AlreadyUp,
    EngineUnreachable,
    PortTaken,
    ProcessStopped,
)

SERVER_START_SECONDS = 120
LEFTOVER_GRACE_SECONDS = 5
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _die_with_parent() -> None:
    """In the child, before it runs: SIGTERM when `rehab up` ends, however it ends (Linux)."""
    parent = os.getppid()
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: the leftovers sweep of the next start
        return
    if os.getppid() != parent:  # the parent died before the signal was armed
        os.kill(os.getpid(), signal.SIGTERM)


def _pids_file(home: Path) -> Path:
    return home / "up.pids"


def _remember(home: Path, processes: list[subprocess.Popen[bytes]]) -> None:
    """Note the children (each leads its own process group) for the next start's sweep."""
    _pids_file(home).write_text(json.dumps([p.pid for p in processes]))


def _ours(pid: int, home: Path) -> bool:
    """True if `pid` is still a process group this REHAB_HOME's `rehab up` started (not a
    stranger that reused the number)."""
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return False
    marker = f"PREFECT_HOME={home / 'prefect'}".encode()
    return marker in environ and os.getpgid(pid) == pid


def end_leftovers(home: Path) -> list[int]:
    """End the process groups an earlier `rehab up` of this home left running (it was killed
    before it could stop them); returns their ids."""
    try:
        pids = [int(p) for p in json.loads(_pids_file(home).read_text())]
    except (OSError, ValueError, TypeError):
        return []
    alive = [pid for pid in pids if _ours(pid, home)]
    for pid in alive:
        with suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + LEFTOVER_GRACE_SECONDS
    while time.monotonic() < deadline and any(_ours(pid, home) for pid in alive):
        time.sleep(0.1)
    for pid in alive:
        if _ours(pid, home):
            with suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
    _pids_file(home).unlink(missing_ok=True)
    return alive


@contextmanager
def single_instance(home: Path) -> Iterator[None]:
    """Refuse a second `rehab up` on the same REHAB_HOME."""
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    lock_path = home / "up.lock"
    with lock_path.open("a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            pid = lock.read().strip() or "?"
            raise AlreadyUp(home, pid) from None
        lock.seek(0)
        lock.truncate()
        lock.write(str(os.getpid()))
        lock.flush()
        yield


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def start_server(settings: Settings, log: IO[str]) -> subprocess.Popen[bytes]:
    """Start the embedded Prefect server and wait until it answers."""
    port = settings.prefect_port
    if not _port_free(settings.prefect_host, port):
        raise PortTaken(port)
    server = subprocess.Popen(
        server_command(port),
        env=server_environment(settings),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        # preexec_fn is safe here: `rehab up`'s only other threads are the log pumps, which
        # wait in read() and hold no lock the child needs before exec.
        preexec_fn=_die_with_parent,  # noqa: PLW1509
    )
    logged(server, log)
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise ProcessStopped(
                "the Prefect server", Path(log.name), server.returncode, "at start"
            )
        if engine_client.is_up(settings, timeout=1.0):
            return server
        time.sleep(0.5)
    stop(server, "the Prefect server")
    raise ProcessStopped(
        "the Prefect server", Path(log.name), when=f"within {SERVER_START_SECONDS} s"
    )


def start_door(settings: Settings, log: IO[str]) -> subprocess.Popen[bytes]:
    """Start the door (the one address for people) and wait until it answers."""
    if not _port_free(settings.host, settings.port):
        raise PortTaken(settings.port)
    door = subprocess.Popen(
        [sys.executable, "-m", "flows.door"],
        env=dict(os.environ, **engine_client.prefect_environment(settings)),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=_die_with_parent,  # noqa: PLW1509  # pumps only, as above
    )
    logged(door, log)  # through the pump: a purge takes a case's lines out of it
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if door.poll() is not None:
            raise ProcessStopped("the door", Path(log.name), door.returncode, "at start")
        if engine_client.door_is_up(settings, timeout=1.0):
            return door
        time.sleep(0.3)
    stop(door, "the door")
    raise ProcessStopped("the door", Path(log.name), when=f"within {SERVER_START_SECONDS} s")


def start_runner(
    settings: Settings, log: IO[str], extra_env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start the runner serving the deployments (and the clock)."""
    env = dict(os.environ, **engine_client.prefect_environment(settings), **(extra_env or {}))
    env["PREFECT_RUNNER_POLL_FREQUENCY"] = str(int(settings.runner_poll.total_seconds()) or 1)
    runner = subprocess.Popen(
        [sys.executable, "-m", "flows.serve"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=_die_with_parent,  # noqa: PLW1509  # pumps only, as above
    )
    logged(runner, log)
    return runner


def stop(process: subprocess.Popen[bytes], name: str, timeout: float = 150) -> None:
    """SIGTERM, wait, then SIGKILL if it will not go."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        click.echo(f"{name} did not stop in {timeout:.0f} s; killing it", err=True)
        process.kill()
        process.wait()


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


def _watch(
    children: list[tuple[str, subprocess.Popen[bytes] | None, Path]],
    stopping: Callable[[], bool],
) -> None:
    """Until Ctrl-C: a child that stops ends `rehab up`, naming its log."""
    while not stopping():
        for name, process, log in children:
            if process is not None and process.poll() is not None:
                raise ProcessStopped(name, log, process.returncode)
        time.sleep(0.5)


def _stop_all(
    app: App,
    door: subprocess.Popen[bytes],
    runner: subprocess.Popen[bytes],
    catcher: subprocess.Popen[bytes] | None,
    server: subprocess.Popen[bytes] | None,
) -> None:
    """Stop the children, the door first (no new decisions), then the runner (it drains);
    then erase what the stopping server still wrote of a case purged in the last hour."""
    stop(door, "the door", timeout=10)
    stop(runner, "the runner")
    if catcher is not None:
        stop(catcher, "the mail catcher", timeout=10)
    if server is not None:
        stop(server, "the Prefect server", timeout=30)
        from flows.tending import erase_after_stop  # noqa: PLC0415  # imports prefect

        try:
            erase_after_stop(app)
        except Exception as exc:  # the next start's clock follow-up tries again
            click.echo(f"could not look for purged cases' traces ({type(exc).__name__})", err=True)
    _pids_file(app.settings.home_dir).unlink(missing_ok=True)


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
        app.store  # noqa: B018  # migrate the case store and check its key before anything runs
        app.directories  # noqa: B018  # refuse bad directories now, not at the first message
        # The engine's default for a programme whose configuration says nothing.
        approval_required(
            app.store,
            app.directories,
            engine_default=app.settings.require_approval,
            now=app.now(),
        )
        # Before the server starts: from now on commands (and this one) know which server is
        # the embedded one, the only one sent REHAB_HOME's auth string.
        write_record(settings, partners_file=settings.partners_file, staff_file=settings.staff_file)
        server = None
        with (
            (logs / "prefect-server.log").open("a") as server_log,
            (logs / "runner.log").open("a") as runner_log,
            (logs / "mail-catcher.log").open("a") as mail_log,
            (logs / "door.log").open("a") as door_log,
        ):
            if settings.prefect_api_url is None:
                click.echo(f"starting the Prefect server (SQLite in {home / 'prefect'}) ...")
                server = start_server(settings, server_log)
            elif not engine_client.is_up(settings):
                raise EngineUnreachable(engine_client.api_url(settings))
            catcher, runner_env = mail_for_examples(
                settings, mail_log, examples=bool(examples), preexec=_die_with_parent
            )
            runner = start_runner(settings, runner_log, runner_env)
            door = start_door(settings, door_log)
            _remember(home, [p for p in (server, runner, catcher, door) if p is not None])
            stopping = False

            def on_signal(*_: object) -> None:
                nonlocal stopping
                stopping = True

            signal.signal(signal.SIGINT, on_signal)
            signal.signal(signal.SIGTERM, on_signal)
            try:
                launched = launch_examples(app, examples)
                click.echo(
                    banner(app, launched=launched, mail=catcher)
                    + saved_views(settings)
                    + "Press Ctrl-C to stop (runs in flight finish first)."
                )
                _watch(
                    [
                        ("the runner", runner, logs / "runner.log"),
                        ("the door", door, logs / "door.log"),
                        ("the Prefect server", server, logs / "prefect-server.log"),
                    ],
                    lambda: stopping,
                )
                click.echo("stopping: letting runs in flight finish ...")
            finally:
                _stop_all(app, door, runner, catcher, server)
        click.echo("stopped.")
