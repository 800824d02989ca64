"""The log files under REHAB_HOME, written so that a purge can take a case's lines out of
them while the engine runs: every line is appended under the file's lock, and a purge
rewrites the file in place under the same lock (security.md rule 9)."""

from __future__ import annotations

import fcntl
import os
import re
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO


@contextmanager
def _locked(fd: int) -> Iterator[None]:
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)


def append_line(path: Path, line: bytes) -> None:
    """Append one line to `path` (0600) under its lock."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        with _locked(fd):
            os.write(fd, line)
    finally:
        os.close(fd)


def pump(source: IO[bytes], path: Path) -> threading.Thread:
    """Copy a child's output into `path` line by line, each line appended under the file's
    lock (a child writing to the file itself could not be stopped mid-rewrite)."""

    def copy() -> None:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            for line in iter(source.readline, b""):
                with _locked(fd):
                    os.write(fd, line)
        finally:
            os.close(fd)
            source.close()

    thread = threading.Thread(target=copy, name=f"log-{path.name}", daemon=True)
    thread.start()
    return thread


def logged(process: subprocess.Popen[bytes], log: IO[str]) -> None:
    """Send a child started with `stdout=PIPE` to the log file `log` names, through `pump`
    (only the pump writes it; `log` stays open as the file's name for messages)."""
    if process.stdout is not None:
        pump(process.stdout, Path(log.name))


def naming(codes: list[str]) -> re.Pattern[bytes]:
    """What names one of `codes`, in any letter case (artifact keys are lower case), and not
    a longer code it begins (BC-1 is not named in BC-12 or BC-1-2)."""
    alternatives = b"|".join(re.escape(code.encode()) for code in codes)
    return re.compile(rb"(?<![A-Za-z0-9])(?:" + alternatives + rb")(?![A-Za-z0-9]|-[0-9])", re.I)


def names_any(data: bytes, codes: list[str]) -> bool:
    """True if `data` names one of `codes` (see `naming`)."""
    return bool(codes) and naming(codes).search(data) is not None


def drop_lines(path: Path, codes: list[str]) -> int:
    """Rewrite `path` in place, under its lock, without the lines naming one of `codes`; the
    bytes past the new end are overwritten before the file is cut. Returns lines dropped."""
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return 0
    try:
        with _locked(fd):
            size = os.fstat(fd).st_size
            data = os.pread(fd, size, 0)
            if not names_any(data, codes):
                return 0
            lines, named = data.splitlines(keepends=True), naming(codes)
            kept = [line for line in lines if not named.search(line)]
            new = b"".join(kept)
            os.pwrite(fd, new, 0)
            os.pwrite(fd, b"\0" * (size - len(new)), len(new))
            os.fsync(fd)
            os.ftruncate(fd, len(new))
            return len(lines) - len(kept)
    finally:
        os.close(fd)


def shred(path: Path) -> None:
    """Overwrite a file's bytes, then remove it."""
    try:
        fd = os.open(path, os.O_WRONLY)
    except FileNotFoundError:
        return
    try:
        os.pwrite(fd, b"\0" * os.fstat(fd).st_size, 0)
        os.fsync(fd)
    finally:
        os.close(fd)
    path.unlink(missing_ok=True)
