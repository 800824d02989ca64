"""The closed Prefect API: one auth string (Prefect OSS knows no users), made on the embedded
server's first start and kept 0600 in REHAB_HOME, where the runner and the CLI read it. It is
sent only to that server: any other gets what PREFECT_API_AUTH_STRING says, or nothing."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from flows.home.engine_record import talks_to_embedded_server
from flows.settings import Settings

AUTH_FILE = "prefect-auth"


def auth_file(settings: Settings) -> Path:
    """Where the auth string is kept."""
    return settings.home_dir / AUTH_FILE


def _kept(settings: Settings) -> str | None:
    try:
        return auth_file(settings).read_text(encoding="utf-8").strip() or None
    except FileNotFoundError:
        return None


def auth_string(settings: Settings) -> str | None:
    """The auth string clients send: REHAB_HOME's file to the server `rehab up` started for
    this home (flows/home/engine_record.py), and only to it; else PREFECT_API_AUTH_STRING (a
    server rehab did not start, or no file yet), else None (an open server)."""
    kept = _kept(settings) if talks_to_embedded_server(settings) else None
    return kept or os.environ.get("PREFECT_API_AUTH_STRING") or None


def ensure_auth_string(settings: Settings) -> str:
    """The embedded server's auth string, made on its first start (only this user reads it)."""
    existing = _kept(settings)
    if existing:
        return existing
    path = auth_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    value = f"rehab:{secrets.token_urlsafe(32)}"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(value + "\n")
    return value
