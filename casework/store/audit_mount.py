"""The audit chain's keys and head, kept on the key mount beside the master key (security.md
rule 10), so someone who can write the database can neither make a row's HMAC nor move the
chain's head.

`<key file>.audit-keys`: the audit keys, one a line (`<id>:<64 hex digits>`), oldest first.
The last one chains new rows; the older ones, retired by `rehab key rotate`, only verify the
rows chained under them. Shared by every store sealed with this key file.

`<key file>.audit-head-<store id>`: where the store's keyed chain begins (its last SHA-256 row
from before keys, or none) and its head (the last row's id, HMAC and time), rewritten at once
(a new file, synced, renamed over the old) after each commit that appended, under
`<that file>.lock`, which appenders hold from their first row until the head is written.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from casework.store.errors import AuditKeyMissing, SecretKeyExposed, SecretKeyUnreadable


@dataclass(frozen=True)
class Mark:
    """One row of the chain as the key mount knows it (id 0: before the first row)."""

    id: int
    mac: str
    at: datetime | None


@dataclass(frozen=True)
class Head:
    """Where the keyed chain begins (`start`, the last SHA-256 row) and its last row."""

    start: Mark
    last: Mark


@dataclass(frozen=True)
class AuditKey:
    """An audit key: `rank` orders keys by age, so a row chained under a retired key after
    a newer key was in use is found."""

    rank: int
    id: str
    secret: bytes


class AuditMount:
    """The audit keys and one store's chain head, on the key mount."""

    def __init__(self, key_file: Path, store_id: str) -> None:
        self.keys_path = key_file.with_name(key_file.name + ".audit-keys")
        self.head_path = key_file.with_name(f"{key_file.name}.audit-head-{store_id}")
        # One tuple, replaced whole, so threads sharing the mount never see a new file's
        # stamp with the old file's keys.
        self._cache: tuple[tuple[int, int, int], dict[str, AuditKey]] | None = None

    # -- keys ---------------------------------------------------------------------------

    def keys(self) -> dict[str, AuditKey]:
        """Every audit key by id; read again whenever the file changed (after a rotation)."""
        try:
            st = self.keys_path.stat()
        except FileNotFoundError:
            raise AuditKeyMissing(self.keys_path) from None
        _refuse_exposed(self.keys_path, st.st_mode)
        seen = (st.st_ino, st.st_size, st.st_mtime_ns)
        cache = self._cache
        if cache is None or cache[0] != seen:
            text = _read(self.keys_path).decode(errors="replace")
            keys: dict[str, AuditKey] = {}
            for rank, line in enumerate(text.split()):
                kid, _, secret = line.partition(":")
                try:
                    keys[kid] = AuditKey(rank, kid, bytes.fromhex(secret))
                except ValueError:
                    raise SecretKeyUnreadable(
                        self.keys_path, "it is not an audit key file (`<id>:<64 hex digits>`)"
                    ) from None
            if not keys:
                raise SecretKeyUnreadable(self.keys_path, "it holds no audit key")
            cache = self._cache = (seen, keys)
        return cache[1]

    def current(self) -> AuditKey:
        """The key new rows are chained under: the newest."""
        return max(self.keys().values(), key=lambda k: k.rank)

    def has_keys(self) -> bool:
        """Whether the audit key file exists."""
        return self.keys_path.exists()

    def create_keys(self) -> None:
        """Make the audit key file with one key, unless it exists."""
        with _locked(self.keys_path):
            if not self.keys_path.exists():
                _write_atomically(self.keys_path, _key_line())

    def rotate(self) -> AuditKey:
        """Add a new key that chains rows from now on; the old ones stay, to verify."""
        with _locked(self.keys_path):
            self._cache = None
            self.keys()  # refuses a missing or exposed file before writing anything
            _write_atomically(
                self.keys_path, _read(self.keys_path).rstrip(b"\n") + b"\n" + _key_line()
            )
            self._cache = None
        return self.current()

    # -- the head -----------------------------------------------------------------------

    def read_head(self) -> Head | None:
        """The head the key mount holds, or None if there is none."""
        try:
            st = self.head_path.stat()
        except FileNotFoundError:
            return None
        _refuse_exposed(self.head_path, st.st_mode)
        try:
            data = json.loads(_read(self.head_path))
            return Head(_mark(data["start"]), _mark(data["last"]))
        except (ValueError, KeyError, TypeError):
            raise SecretKeyUnreadable(self.head_path, "it is not an audit chain head") from None

    def write_head(self, head: Head) -> None:
        """Replace the head at once, synced (call it holding `lock`)."""
        data = {"start": _unmark(head.start), "last": _unmark(head.last)}
        _write_atomically(self.head_path, json.dumps(data).encode() + b"\n")

    def lock(self) -> int:
        """Take the head's lock (waiting for it); returns what `unlock` needs."""
        return _lock(self.head_path)

    @staticmethod
    def unlock(fd: int) -> None:
        """Let the head's lock go."""
        os.close(fd)  # closing releases the flock

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the head's lock for a block."""
        fd = self.lock()
        try:
            yield
        finally:
            self.unlock(fd)


def _key_line() -> bytes:
    return f"{secrets.token_hex(4)}:{secrets.token_hex(32)}\n".encode()


def _mark(data: dict[str, object]) -> Mark:
    at = data["at"]
    return Mark(
        int(str(data["id"])),
        str(data["mac"]),
        datetime.fromisoformat(at) if isinstance(at, str) else None,
    )


def _unmark(mark: Mark) -> dict[str, object]:
    return {"id": mark.id, "mac": mark.mac, "at": mark.at.isoformat() if mark.at else None}


def _refuse_exposed(path: Path, mode: int) -> None:
    if mode & 0o077:
        raise SecretKeyExposed(path, mode & 0o777)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise SecretKeyUnreadable(path, exc.strerror or type(exc).__name__) from exc


def _lock(path: Path) -> int:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path.with_name(path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    fd = _lock(path)
    try:
        yield
    finally:
        os.close(fd)


def _write_atomically(path: Path, data: bytes) -> None:
    """A new 0600 file, synced, renamed over `path`, and the directory synced: a crash
    leaves the old file or the new one, never half of one."""
    fresh = path.with_name(path.name + ".new")
    fresh.unlink(missing_ok=True)
    fd = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.replace(fresh, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
