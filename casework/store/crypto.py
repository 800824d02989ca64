"""Sealing personal data and notes at rest with Fernet: a master key in a 0600 file, and a
data key per case in the keyring beside it."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from casework.store.errors import (
    CaseKeyDestroyed,
    NotASecretKey,
    SecretKeyExposed,
    SecretKeyMissing,
    SecretKeyUnreadable,
    WrongSecretKey,
)
from casework.store.keyring import DESTROYED, Keyring

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
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        key = Fernet.generate_key()
        if not _create_once(path, key + b"\n"):  # another process made it first: use that one
            return load_or_create_key(path, may_create=False)
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


def _create_once(path: Path, content: bytes) -> bool:
    """Create `path` whole with `content` (mode 0600) unless it exists: False if it does. Two
    processes opening a new store at once must end with one key, not each its own."""
    fresh = path.with_name(f"{path.name}.{os.getpid()}.{secrets.token_hex(4)}.new")
    fd = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(content)
            out.flush()
            os.fsync(out.fileno())
        os.link(fresh, path)  # atomic, and refused if the file is there already
    except FileExistsError:
        return False
    finally:
        fresh.unlink(missing_ok=True)
    return True


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
    """Envelope encryption: each case's data is sealed with its own data key, kept wrapped by
    the master key in the keyring beside the key file, never in the database. Destroying a
    case's data key destroys every copy of its data, backups of the database included; a new
    master key only re-wraps the data keys."""

    def __init__(self, keys: list[bytes], key_file: Path, *, store_id: str) -> None:
        self._key_file = key_file
        self._keyring = Keyring(keyring_path(key_file))
        self._prefix = f"{store_id}/"
        self._use(keys)

    @property
    def key_file(self) -> Path:
        """Where the master key(s) live."""
        return self._key_file

    @property
    def keyring(self) -> Keyring:
        """Where the cases' data keys live."""
        return self._keyring

    def _use(self, keys: list[bytes]) -> None:
        self._current = Fernet(keys[0])  # wraps from now on; the others only open
        self._master = MultiFernet([Fernet(k) for k in keys])

    def reload(self) -> None:
        """Read the key file again: after a rotation, a running engine takes the new key."""
        self._use(load_or_create_key(self._key_file, may_create=False))

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

    # -- the cases' data keys ------------------------------------------------------------

    def ensure_case_key(self, code: str) -> None:
        """Give the case a data key unless it has one; a purged case never gets one again."""
        self._data_key(code, make=True)

    def ensure_case_keys(self, codes: list[str]) -> list[str]:
        """Give each case a data key unless it has one, all in one write of the keyring (a
        bulk import's); returns the codes given one."""
        made = self._keyring.add_many(
            [self._prefix + c for c in codes], lambda: self._master.encrypt(Fernet.generate_key())
        )
        return [name[len(self._prefix) :] for name in made]

    def discard_case_keys(self, codes: list[str]) -> None:
        """Take back data keys `ensure_case_keys` just made for cases not written after all
        (no tombstone: the code may be used later); the caller holds their code locks."""
        if codes:
            self._keyring.discard([self._prefix + c for c in codes])

    def has_case_key(self, code: str) -> bool:
        """Whether the case's data is sealed with a data key of its own (not the master key)."""
        wrapped = self._keyring.get(self._prefix + code)
        return wrapped is not None and wrapped != DESTROYED

    def adopt_case_key(self, code: str, wrapped: bytes) -> None:
        """Move a data key kept in the database (as stores did before the keyring) here."""
        self._keyring.add(self._prefix + code, lambda: wrapped)

    def destroy_case_keys(self, codes: list[str]) -> int:
        """Destroy these cases' data keys: whatever was sealed with them, wherever a copy of
        it is, is noise from now on. Returns how many keys were destroyed."""
        return self._keyring.destroy([self._prefix + c for c in codes])

    def live_case_keys(self) -> list[str]:
        """Codes of this store's cases whose data key exists."""
        n = len(self._prefix)
        return [
            name[n:]
            for name, wrapped in self._keyring.names(self._prefix).items()
            if wrapped != DESTROYED
        ]

    def rewrap_case_keys(self, master: MultiFernet | None = None) -> int:
        """Re-wrap every data key (of every store on this key file) that the given master
        keys (default: the current first key alone) cannot open, under the current key."""
        only = master or MultiFernet([self._current])

        def rewrap(_name: str, wrapped: bytes) -> bytes:
            try:
                only.decrypt(wrapped)
            except InvalidToken:
                return self._master.rotate(wrapped)
            return wrapped

        return self._keyring.rewrite(rewrap)

    def _data_key(self, code: str, *, make: bool) -> Fernet | None:
        name = self._prefix + code

        def fresh() -> bytes:
            return self._master.encrypt(Fernet.generate_key())

        wrapped = self._keyring.get(name)  # read without the writers' lock while it is there
        if wrapped is None and make:
            wrapped = self._keyring.add(name, fresh)
        if wrapped is None:
            return None  # sealed before cases had data keys: the master key opens it
        if wrapped == DESTROYED:
            raise CaseKeyDestroyed(code)
        try:
            return Fernet(self._master.decrypt(wrapped))
        except InvalidToken:
            self.reload()  # rotated meanwhile: the key file and the keyring are both new
            again = self._keyring.get(name) or b""
            try:
                return Fernet(self._master.decrypt(again))
            except InvalidToken:
                raise WrongSecretKey(self._key_file, record=True) from None

    # -- sealing -------------------------------------------------------------------------

    def rewrap(self, token: bytes) -> bytes:
        """A token sealed with the master key, sealed again with the current (first) one."""
        return self._master.rotate(token)

    def seal(self, data: Any, *, case: str | None = None) -> bytes:
        """JSON-encode and encrypt: with the case's data key (made now if it has none), else
        the master key (for what belongs to no case, e.g. staff secrets)."""
        plain = json.dumps(data, ensure_ascii=False).encode()
        key = self._data_key(case, make=True) if case is not None else None
        return (key or self._master).encrypt(plain)

    def open(self, token: bytes, *, case: str | None = None) -> Any:
        """Decrypt and JSON-decode; WrongSecretKey if the key does not fit, CaseKeyDestroyed
        if the case was purged. Data sealed before cases had data keys opens with the master
        key. A running engine whose key was rotated meanwhile reads the key file again."""
        for attempt in range(2):
            key = self._data_key(case, make=False) if case is not None else None
            for candidate in ([key] if key is not None else []) + [self._master]:
                try:
                    return json.loads(candidate.decrypt(token))
                except InvalidToken:
                    continue
            if attempt == 0:
                self.reload()
        raise WrongSecretKey(self._key_file, record=True)

    def seal_text(self, text: str | None, *, case: str | None = None) -> bytes | None:
        """Seal a free-text note (it may name people); None stays None."""
        return None if text is None else self.seal(text, case=case)


def keyring_path(key_file: Path) -> Path:
    """The cases' data keys live beside the master key, on whatever mount that is."""
    return key_file.with_name(key_file.name + ".case-keys")
