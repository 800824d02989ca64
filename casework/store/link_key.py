"""The key partners' links are signed under (security.md rule 12), on the key mount beside the
master key and the audit keys, never in the database: `<key file>.link-key`, 64 hex digits,
0600. Made on first use; replacing it voids every link sent before."""

from __future__ import annotations

import secrets
from pathlib import Path

from casework.store.audit_mount import _locked, _read, _refuse_exposed, _write_atomically
from casework.store.errors import SecretKeyUnreadable


class LinkKey:
    """The link key of one key file, read once."""

    def __init__(self, key_file: Path) -> None:
        self.path = key_file.with_name(key_file.name + ".link-key")
        self._secret: bytes | None = None

    def secret(self) -> bytes:
        """The key's bytes, made if there is none yet."""
        if self._secret is None:
            if not self.path.exists():
                with _locked(self.path):
                    if not self.path.exists():
                        _write_atomically(self.path, secrets.token_hex(32).encode() + b"\n")
            _refuse_exposed(self.path, self.path.stat().st_mode)
            try:
                secret = bytes.fromhex(_read(self.path).decode(errors="replace").strip())
            except ValueError:
                secret = b""
            if len(secret) < 32:  # 256 bits
                raise SecretKeyUnreadable(self.path, "it is not a link key (64 hex digits)")
            self._secret = secret
        return self._secret
