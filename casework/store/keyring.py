"""The cases' data keys, kept beside the master key and outside the database.

A copy of the database (a backup, a dump) holds only sealed data. Each case's data key lives
here, wrapped by the master key, so destroying one line destroys that case in every copy of the
database at once, and no other. A line is `<store id>/<case code> <wrapped key>`, or
`<store id>/<case code> -` once the key is destroyed (a tombstone: the case was purged).

Writers take an exclusive lock on `<file>.lock`: a new key is appended (cheap at any size); a
destruction or a rotation writes a new file and renames it over the old. Readers take no lock,
since the rename is atomic, and read again whenever the file changed.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from casework.store.errors import SecretKeyExposed, SecretKeyUnreadable

DESTROYED = b"-"


class Keyring:
    """The data keys of the cases of every store sealed with one master key."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._seen: tuple[int, int, int] | None = None
        self._entries: dict[str, bytes] = {}

    @property
    def path(self) -> Path:
        """Where the data keys live."""
        return self._path

    def get(self, name: str) -> bytes | None:
        """The wrapped key of `name`, DESTROYED, or None if it never had one."""
        return self._read().get(name)

    def names(self, prefix: str) -> dict[str, bytes]:
        """Every entry whose name starts with `prefix`, tombstones included."""
        return {k: v for k, v in self._read().items() if k.startswith(prefix)}

    def add(self, name: str, make: Callable[[], bytes]) -> bytes:
        """The wrapped key of `name`, made by `make` and written first if it has none. A
        destroyed key is never made again: DESTROYED is returned."""
        with self._locked():
            have = self._read().get(name)
            if have is not None:
                return have
            wrapped = make()
            self._append(name, wrapped)
            return wrapped

    def add_many(self, names: list[str], make: Callable[[], bytes]) -> list[str]:
        """Make a key for each of `names` that has none (never for a destroyed one), in one
        append and one sync; returns the names given one."""
        with self._locked():
            have = self._read()
            fresh = [(n, make()) for n in dict.fromkeys(names) if n not in have]
            if fresh:
                self._append_lines(fresh)
            return [n for n, _ in fresh]

    def discard(self, names: list[str]) -> None:
        """Remove the entries of `names` altogether (no tombstone): keys just made for cases
        whose writing was rolled back, which sealed nothing kept. The caller holds those
        cases' code locks, so no one else has taken the keys up meanwhile."""
        with self._locked():
            entries = dict(self._read())
            gone = [n for n in names if entries.pop(n, None) is not None]
            if gone:
                self._replace(entries, shred_old=True)

    def rewrite(self, change: Callable[[str, bytes], bytes]) -> int:
        """Replace each live entry's wrapped key by `change(name, wrapped)` in one atomic
        write; returns how many changed. Tombstones stay."""
        with self._locked():
            entries = dict(self._read())
            changed = 0
            for name, wrapped in entries.items():
                if wrapped == DESTROYED:
                    continue
                fresh = change(name, wrapped)
                if fresh != wrapped:
                    entries[name], changed = fresh, changed + 1
            if changed:
                self._replace(entries)
            return changed

    def destroy(self, names: list[str]) -> int:
        """Replace the keys of `names` by tombstones; the old file's bytes are overwritten
        before it is let go. Returns how many keys were destroyed."""
        with self._locked():
            entries = dict(self._read())
            gone = [n for n in names if entries.get(n, DESTROYED) != DESTROYED]
            for name in names:
                entries[name] = DESTROYED
            if gone or any(n not in self._entries for n in names):
                self._replace(entries, shred_old=True)
            return len(gone)

    # -- the file -----------------------------------------------------------------------

    def _read(self) -> dict[str, bytes]:
        for _ in range(3):
            entries = self._read_once()
            if entries is not None:
                return entries
        raise SecretKeyUnreadable(self._path, "it holds zeroed bytes; restore it from a backup")

    def _read_once(self) -> dict[str, bytes] | None:
        try:
            st = self._path.stat()
        except FileNotFoundError:
            self._seen, self._entries = None, {}
            return self._entries
        except OSError as exc:
            raise SecretKeyUnreadable(self._path, exc.strerror or type(exc).__name__) from exc
        if st.st_mode & 0o077:
            raise SecretKeyExposed(self._path, st.st_mode & 0o777)
        seen = (st.st_ino, st.st_size, st.st_mtime_ns)
        if seen != self._seen:
            try:
                text = self._path.read_bytes()
            except OSError as exc:
                raise SecretKeyUnreadable(self._path, exc.strerror or type(exc).__name__) from exc
            if b"\0" in text:  # the replaced file, zeroed as we read it: the new one is there
                self._seen = None
                return None
            entries: dict[str, bytes] = {}
            for line in text.split(b"\n"):
                parts = line.split()
                if len(parts) == 2:  # a line cut short by a crash mid-append is ignored
                    entries[parts[0].decode()] = parts[1]
            self._seen, self._entries = seen, entries
        return self._entries

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self._path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self._path.with_name(self._path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            self._seen = None  # read afresh under the lock
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def _append(self, name: str, wrapped: bytes) -> None:
        self._append_lines([(name, wrapped)])

    def _append_lines(self, lines: list[tuple[str, bytes]]) -> None:
        fd = os.open(self._path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(fd, "ab") as out:
            size = os.fstat(fd).st_size
            lead = b""
            if size:
                with self._path.open("rb") as f:
                    f.seek(size - 1)
                    lead = b"" if f.read(1) == b"\n" else b"\n"
            out.write(lead + b"".join(n.encode() + b" " + w + b"\n" for n, w in lines))
            out.flush()
            os.fsync(out.fileno())
        self._seen = None

    def _replace(self, entries: dict[str, bytes], *, shred_old: bool = False) -> None:
        fresh = self._path.with_name(self._path.name + ".new")
        fresh.unlink(missing_ok=True)
        fd = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(b"".join(k.encode() + b" " + v + b"\n" for k, v in entries.items()))
            out.flush()
            os.fsync(out.fileno())
        old = os.open(self._path, os.O_RDWR) if shred_old and self._path.exists() else None
        try:
            os.replace(fresh, self._path)
            _fsync_dir(self._path.parent)
            if old is not None:
                _zero(old)
        finally:
            if old is not None:
                os.close(old)
        self._seen = None


def _zero(fd: int) -> None:
    """Zero the replaced file's bytes, so on an ordinary filesystem a destroyed key does not
    linger in freed blocks (copy-on-write filesystems and snapshots of the key mount are the
    operator's to manage; docs/security.md says so)."""
    size = os.fstat(fd).st_size
    os.pwrite(fd, b"\0" * size, 0)
    os.fsync(fd)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
