"""What the engine of a REHAB_HOME uses, in one place: `rehab up` records its Prefect server's
address, the UI's, and the directories it runs with (the copies `--examples` writes, say) in
a 0600 file under REHAB_HOME; every command reads it for whatever its own environment does not
name, so a command checks, prints and sends what the engine does. The record also says which
server is the one `rehab up` started: only that one is sent REHAB_HOME's auth string."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, ValidationError

from flows.settings import Settings, load_settings

RECORD_FILE = "engine.json"


class EngineRecord(BaseModel):
    """The addresses and directories of the engine `rehab up` last started for a home."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    prefect_api_url: str | None  # None: the embedded server `rehab up` started
    prefect_port: int
    public_url: str | None
    port: int = 4200  # the door (records written before it had one: the default)
    host: str = "127.0.0.1"
    partners_file: Path
    staff_file: Path


def record_file(home: Path) -> Path:
    """Where the record is kept."""
    return home / RECORD_FILE


def write_record(settings: Settings, *, partners_file: Path, staff_file: Path) -> Path:
    """Record what the engine `rehab up` is starting uses (0600, replaced whole)."""
    record = EngineRecord(
        prefect_api_url=settings.prefect_api_url,
        prefect_port=settings.prefect_port,
        public_url=settings.public_url,
        port=settings.port,
        host=settings.host,
        partners_file=partners_file.resolve(),
        staff_file=staff_file.resolve(),
    )
    target = record_file(settings.home_dir)
    partial = target.with_name(f".{RECORD_FILE}.{os.getpid()}")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(record.model_dump_json(indent=2) + "\n")
    partial.replace(target)  # a reader sees the old record or the new, never half of one
    return target


def read_record(home: Path) -> EngineRecord | None:
    """The record, or None if `rehab up` never ran for this home (or its file is unreadable:
    then the environment and the defaults decide, as before there was one)."""
    try:
        return EngineRecord.model_validate_json(record_file(home).read_bytes())
    except (OSError, ValidationError):
        return None


def as_the_engine_runs(settings: Settings) -> Settings:
    """`settings` with what the environment leaves unsaid taken from the engine's record."""
    record = read_record(settings.home_dir)
    if record is None:
        return settings
    recorded: dict[str, Any] = record.model_dump()
    update = {k: v for k, v in recorded.items() if k not in settings.model_fields_set}
    return settings.model_copy(update=update)


def engine_settings() -> Settings:
    """The settings of every process but `rehab up` itself: the environment's, completed from
    the engine's record."""
    return as_the_engine_runs(load_settings())


def api_url(settings: Settings) -> str:
    """PREFECT_API_URL, else the embedded server `rehab up` starts."""
    return (settings.prefect_api_url or _embedded(settings.prefect_port)).rstrip("/")


def ui_url(settings: Settings) -> str:
    """Where people open the UI: the door (behind a TLS proxy: REHAB_PUBLIC_URL)."""
    return settings.door_url


def _embedded(port: int) -> str:
    return f"http://127.0.0.1:{port}/api"


def _same(a: str, b: str) -> bool:
    x, y = urlsplit(a.rstrip("/")), urlsplit(b.rstrip("/"))
    return (x.scheme.lower(), x.hostname, x.port, x.path) == (
        y.scheme.lower(),
        y.hostname,
        y.port,
        y.path,
    )


def talks_to_embedded_server(settings: Settings) -> bool:
    """True if `settings` point at the server `rehab up` started for this home: the address
    its record names, or (no record yet) the embedded default when PREFECT_API_URL is unset.
    Any other server, even on this host, may be someone else's."""
    record = read_record(settings.home_dir)
    if record is None:
        return settings.prefect_api_url is None
    if record.prefect_api_url is not None:  # `rehab up` started none: it used that server
        return False
    return _same(api_url(settings), _embedded(record.prefect_port))
