"""Sealing personal data and notes at rest with Fernet; the key lives in a 0600 file."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from plans.errors import (
    NotASecretKey,
    SecretKeyExposed,
    SecretKeyMissing,
    SecretKeyUnreadable,
    WrongSecretKey,
)

CHECK_PLAINTEXT = b"rehab case store key check"


def load_or_create_key(path: Path, *, may_create: bool) -> bytes:
    """Read the key file; create it with mode 0600 if absent and `may_create`."""
    try:
        key = path.read_bytes().strip()
    except FileNotFoundError:
        if not may_create:
            raise SecretKeyMissing(path) from None
        path.parent.mkdir(parents=True, exist_ok=True)
        key = Fernet.generate_key()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(key + b"\n")
        return key
    except OSError as exc:
        raise SecretKeyUnreadable(path, exc.strerror or type(exc).__name__) from exc
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise SecretKeyExposed(path, mode)
    try:
        Fernet(key)
    except ValueError:
        raise NotASecretKey(path) from None
    return key


class Sealer:
    """Encrypts and decrypts personal data and notes with the store's key."""

    def __init__(self, key: bytes, key_file: Path) -> None:
        self._fernet = Fernet(key)
        self._key_file = key_file

    def check_value(self) -> bytes:
        """A token stored once, so a later wrong key is found at once, not as garbage."""
        return self._fernet.encrypt(CHECK_PLAINTEXT)

    def verify(self, token: bytes) -> None:
        """Raise SecretKeyError unless `token` was sealed with this key."""
        try:
            ok = self._fernet.decrypt(token) == CHECK_PLAINTEXT
        except InvalidToken:
            ok = False
        if not ok:
            raise WrongSecretKey(self._key_file)

    def seal(self, data: Any) -> bytes:
        """JSON-encode and encrypt."""
        return self._fernet.encrypt(json.dumps(data, ensure_ascii=False).encode())

    def open(self, token: bytes) -> Any:
        """Decrypt and JSON-decode; SecretKeyError if the key does not fit."""
        try:
            return json.loads(self._fernet.decrypt(token))
        except InvalidToken:
            raise WrongSecretKey(self._key_file, record=True) from None

    def seal_text(self, text: str | None) -> bytes | None:
        """Seal a free-text note (it may name people); None stays None."""
        return None if text is None else self.seal(text)
