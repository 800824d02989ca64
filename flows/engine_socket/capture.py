"""Output per thread: while the engine serves a command on one thread, what that command prints
(click.echo looks up sys.stdout and sys.stderr at each call) goes to its caller as it is
printed; the other threads' output goes where it always went."""

from __future__ import annotations

import io
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol, TextIO


class Writer(Protocol):
    """Where a served command's output goes."""

    def write(self, text: str, /) -> int:
        """Take the text."""
        ...


class PerThread(io.TextIOBase):
    """A stream that writes to the calling thread's buffer if it has one, else to `real`."""

    def __init__(self, real: TextIO) -> None:
        super().__init__()
        self.real = real
        self._local = threading.local()

    @property
    def encoding(self) -> str:  # type: ignore[override]  # a property on TextIOBase too
        return "utf-8"

    @property
    def errors(self) -> str | None:  # type: ignore[override]  # as above
        return "strict"

    def _target(self) -> Any:
        return getattr(self._local, "buffer", None) or self.real

    def write(self, text: str) -> int:
        """Write to this thread's buffer, or through."""
        return int(self._target().write(text))

    def flush(self) -> None:
        """Flush the real stream (a buffer needs none)."""
        if getattr(self._local, "buffer", None) is None:
            self.real.flush()

    def isatty(self) -> bool:
        """A served command prints to a pipe, never to a terminal."""
        return False if getattr(self._local, "buffer", None) is not None else self.real.isatty()

    def writable(self) -> bool:
        """Always."""
        return True

    @contextmanager
    def sent_to(self, target: Writer) -> Iterator[Writer]:
        """While inside, this thread's writes go to `target`."""
        self._local.buffer = target
        try:
            yield target
        finally:
            self._local.buffer = None


def install() -> tuple[PerThread, PerThread]:
    """sys.stdout and sys.stderr made per-thread (once; the same pair after)."""
    out, err = sys.stdout, sys.stderr
    if not isinstance(out, PerThread):
        out = sys.stdout = PerThread(out)
    if not isinstance(err, PerThread):
        err = sys.stderr = PerThread(err)
    return out, err
