"""Renewing Prefect's auth string while `rehab up` runs (`rehab auth rotate`): the new string
is written beside the old one (0600), `rehab up` is asked (SIGHUP) to restart its server,
runner and door with it, and the old string opens nothing from then on. With no `rehab up`
running, the string is replaced at once and the next start uses it."""

from __future__ import annotations

import fcntl
import os
import secrets
import signal
import time
from pathlib import Path

from flows.prefect.auth import auth_file
from flows.settings import Settings

PENDING_SUFFIX = ".next"


def pending_file(settings: Settings) -> Path:
    """Where a new auth string waits for `rehab up` to take it."""
    return auth_file(settings).with_name(auth_file(settings).name + PENDING_SUFFIX)


def _write_private(path: Path, value: str) -> None:
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(value + "\n")
        out.flush()
        os.fsync(out.fileno())
    partial.replace(path)


def running_up(home: Path) -> int | None:
    """The pid of the `rehab up` holding this home's lock, or None if none runs."""
    lock_path = home / "up.lock"
    try:
        with lock_path.open("r") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                text = lock.read().strip()
                return int(text) if text.isdigit() else None
            fcntl.flock(lock, fcntl.LOCK_UN)
            return None
    except FileNotFoundError:
        return None


def request(settings: Settings, *, wait_seconds: float = 300) -> bool:
    """Renew the string: at once when no `rehab up` runs (returns False), else through it,
    waiting until it has restarted its children with the new one (returns True)."""
    value = f"rehab:{secrets.token_urlsafe(32)}"
    pid = running_up(settings.home_dir)
    if pid is None:
        _write_private(auth_file(settings), value)
        return False
    pending = pending_file(settings)
    _write_private(pending, value)
    os.kill(pid, signal.SIGHUP)
    deadline = time.monotonic() + wait_seconds
    while pending.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"`rehab up` (pid {pid}) did not take the new auth string")
        time.sleep(0.5)
    return True


def take_pending(settings: Settings) -> bool:
    """In `rehab up`, its children stopped: put a waiting new string in place (True), or say
    there was none. The waiting file stays until `done` (the command waits for that)."""
    pending = pending_file(settings)
    try:
        value = pending.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return False
    _write_private(auth_file(settings), value)
    return True


def done(settings: Settings) -> None:
    """In `rehab up`, its children started again with the new string: the command may say so."""
    pending_file(settings).unlink(missing_ok=True)
