"""Sealing personal data and notes at rest with Fernet; the key lives in a 0600 file."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from plans.errors import (
    NotASecretKey,
    SecretKeyExposed,
    SecretKeyMissing,
    SecretKeyUnreadable,
    WrongSecretKey,
)

CHECK_PLAINTEXT = b"rehab case store key check"


def load_or_create_key(path: Path, *, may_create: bool) -> list[bytes]:
    """The master keys in the key file, current first (a rotation keeps the old one beside the
    new until every case's data key is re-wrapped); the file is created with mode 0600 and one
    key if absent and `may_create`."""
    try:
        text = path.read_bytes()
    except FileNotFoundError:
        if not may_create:
            raise SecretKeyMissing(path) from None
        path.parent.mkdir(parents=True, exist_ok=True)
        key = Fernet.generate_key()
        write_keys(path, [key])
        return [key]
    except OSError as exc:
        raise SecretKeyUnreadable(path, exc.strerror or type(exc).__name__) from exc
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise SecretKeyExposed(path, mode)
    keys = [line.strip() for line in text.splitlines() if line.strip()]
    try:
        for key in keys:
            Fernet(key)
    except ValueError:
        raise NotASecretKey(path) from None
    if not keys:
        raise NotASecretKey(path)
    return keys


def write_keys(path: Path, keys: list[bytes]) -> None:
    """Replace the key file at once (a new file renamed over it), mode 0600."""
    fresh = path.with_name(path.name + ".new")
    fresh.unlink(missing_ok=True)
    fd = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(b"".join(k + b"\n" for k in keys))
        out.flush()
        os.fsync(out.fileno())
    os.replace(fresh, path)


class Sealer:
    """Envelope encryption: each case's data is sealed with its own data key, and the data key
    is stored wrapped by the master key. Destroying a case's wrapped data key destroys every
    copy of its data, backups included; a new master key only re-wraps the data keys."""

    def __init__(self, keys: list[bytes], key_file: Path) -> None:
        self._key_file = key_file
        self._use(keys)

    @property
    def key_file(self) -> Path:
        """Where the master key(s) live."""
        return self._key_file

    def _use(self, keys: list[bytes]) -> None:
        self._master = MultiFernet([Fernet(k) for k in keys])

    def reload(self) -> None:
        """Read the key file again: after a rotation, a running engine takes the new key."""
        self._use(load_or_create_key(self._key_file, may_create=False))

    def _unwrap(self, token: bytes) -> bytes:
        try:
            return self._master.decrypt(token)
        except InvalidToken:
            self.reload()  # rotated meanwhile?
            try:
                return self._master.decrypt(token)
            except InvalidToken:
                raise WrongSecretKey(self._key_file, record=True) from None

    def check_value(self) -> bytes:
        """A token stored once, so a later wrong key is found at once, not as garbage."""
        return self._master.encrypt(CHECK_PLAINTEXT)

    def verify(self, token: bytes) -> None:
        """Raise SecretKeyError unless `token` was sealed with one of these keys."""
        try:
            ok = self._master.decrypt(token) == CHECK_PLAINTEXT
        except InvalidToken:
            ok = False
        if not ok:
            raise WrongSecretKey(self._key_file)

    def new_data_key(self) -> bytes:
        """A fresh data key for one case, wrapped by the master key."""
        return self._master.encrypt(Fernet.generate_key())

    def rewrap(self, wrapped: bytes) -> bytes:
        """The same data key, wrapped by the current (first) master key."""
        return self._master.rotate(wrapped)

    def seal(self, data: Any, *, data_key: bytes | None = None) -> bytes:
        """JSON-encode and encrypt: with the case's (wrapped) data key, else the master key
        (for what belongs to no case, e.g. staff secrets)."""
        plain = json.dumps(data, ensure_ascii=False).encode()
        if data_key is None:
            return self._master.encrypt(plain)
        return Fernet(self._unwrap(data_key)).encrypt(plain)

    def open(self, token: bytes, *, data_key: bytes | None = None) -> Any:
        """Decrypt and JSON-decode; WrongSecretKey if the key does not fit. Data sealed before
        cases had data keys opens with the master key."""
        keys = ([Fernet(self._unwrap(data_key))] if data_key is not None else []) + [self._master]
        for key in keys:
            try:
                return json.loads(key.decrypt(token))
            except InvalidToken:
                continue
        raise WrongSecretKey(self._key_file, record=True)

    def seal_text(self, text: str | None, *, data_key: bytes | None = None) -> bytes | None:
        """Seal a free-text note (it may name people); None stays None."""
        return None if text is None else self.seal(text, data_key=data_key)
