"""The closed Prefect API: one auth string (Prefect OSS knows no users), made on the embedded
server's first start and kept 0600 in REHAB_HOME, where the runner and the CLI read it."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from flows.settings import Settings

AUTH_FILE = "prefect-auth"


def auth_file(settings: Settings) -> Path:
    """Where the auth string is kept."""
    return settings.home_dir / AUTH_FILE


def auth_string(settings: Settings) -> str | None:
    """The auth string clients send: REHAB_HOME's file, else PREFECT_API_AUTH_STRING (for a
    server rehab did not start), else None (an open server)."""
    try:
        return auth_file(settings).read_text(encoding="utf-8").strip() or None
    except FileNotFoundError:
        return os.environ.get("PREFECT_API_AUTH_STRING") or None


def ensure_auth_string(settings: Settings) -> str:
    """The embedded server's auth string, made on its first start (only this user reads it)."""
    existing = auth_string(settings) if auth_file(settings).exists() else None
    if existing:
        return existing
    path = auth_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    value = f"rehab:{secrets.token_urlsafe(32)}"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(value + "\n")
    return value
