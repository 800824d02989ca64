"""The children `rehab up` starts (the embedded Prefect server, the runner, the door), each in
its own session and ended with `rehab up` however it ends (Linux's parent-death signal); the
note of them in REHAB_HOME/up.pids by which a new `rehab up` ends whatever an earlier one left
behind; and the lock that keeps one `rehab up` per home."""

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
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO

import click

from flows.home.logfiles import logged
from flows.prefect import engine_client
from flows.prefect.server import server_command, server_environment
from flows.processes.errors import AlreadyUp, PortTaken, ProcessStopped
from flows.settings import Settings

SERVER_START_SECONDS = 120
LEFTOVER_GRACE_SECONDS = 5
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def die_with_parent() -> None:
    """In the child, before it runs: SIGTERM when `rehab up` ends, however it ends (Linux)."""
    parent = os.getppid()
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: the leftovers sweep of the next start
        return
    if os.getppid() != parent:  # the parent died before the signal was armed
        os.kill(os.getpid(), signal.SIGTERM)


def pids_file(home: Path) -> Path:
    return home / "up.pids"


def remember(home: Path, processes: list[subprocess.Popen[bytes]]) -> None:
    """Note the children (each leads its own process group) for the next start's sweep."""
    pids_file(home).write_text(json.dumps([p.pid for p in processes]))


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
        pids = [int(p) for p in json.loads(pids_file(home).read_text())]
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
    pids_file(home).unlink(missing_ok=True)
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
        preexec_fn=die_with_parent,  # noqa: PLW1509
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
        preexec_fn=die_with_parent,  # noqa: PLW1509  # pumps only, as above
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
        [sys.executable, "-m", "flows.processes.serve"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=die_with_parent,  # noqa: PLW1509  # pumps only, as above
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
