"""The embedded Prefect server's environment, as `rehab up` starts it: closed (an auth string,
CSRF tokens, the UI's own origin), quiet, and tuned for SQLite under a wake storm. The
benchmarks start their server with this same environment."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from urllib.parse import urlsplit

from flows.prefect import engine_client
from flows.prefect.auth import ensure_auth_string
from flows.settings import Settings

# The server's writes that rehab can do without, off: on SQLite every write in a wake storm is
# one more for a person's resume to race with (bench/forms_under_load.py measures it; kept
# apart so the bench can run without it). Prefect already puts SQLite in WAL mode with a 60 s
# busy timeout; what fails is a transaction that read before it writes while another write
# commits in between: SQLite refuses it at once, whatever the timeout.
SERVER_TUNING: dict[str, str] = {
    # The late-runs service marks a run "Late" 15 s after its scheduled time: nothing in rehab
    # reads it, and in a wake storm its own writes lose the race hundreds of times, retried
    # every 5 s, each try one more writer for the forms to race with.
    "PREFECT_SERVER_SERVICES_LATE_RUNS_ENABLED": "false",
}


def server_command(port: int, *, tuned: bool = True) -> list[str]:
    """The command that starts the embedded server on 127.0.0.1:`port`: Prefect's own
    `prefect server start`, through flows/processes/prefect_server_main.py (SQLite writes begun
    IMMEDIATE) when `tuned`."""
    where = ["--host", "127.0.0.1", "--port", str(port)]
    if tuned:
        return [sys.executable, "-m", "flows.processes.prefect_server_main", *where]
    return [str(Path(sys.executable).with_name("prefect")), "server", "start", *where]


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def server_environment(settings: Settings, *, tuned: bool = True) -> dict[str, str]:
    """The embedded server's settings: SQLite under REHAB_HOME, local only, quiet."""
    env = dict(os.environ, **engine_client.prefect_environment(settings))
    public = engine_client.ui_url(settings)
    env.update(
        {
            # Closed: an auth string for every request but /health, CSRF tokens for every
            # change, and only the UI's own origin may call it from a browser.
            "PREFECT_SERVER_API_AUTH_STRING": ensure_auth_string(settings),
            "PREFECT_SERVER_CSRF_PROTECTION_ENABLED": "true",
            "PREFECT_SERVER_API_CORS_ALLOWED_ORIGINS": _origin(public),
            "PREFECT_SERVER_API_HOST": settings.prefect_host,
            "PREFECT_SERVER_API_PORT": str(settings.prefect_port),
            "PREFECT_UI_API_URL": f"{public}/api",
            # No plan uses pause timeouts (every suspend is `timeout=None`): nothing to expire.
            "PREFECT_SERVER_SERVICES_PAUSE_EXPIRATIONS_ENABLED": "false",
            # Services for what rehab does not use, each polling the database every few
            # seconds for nothing: deployment schedules (runs are created by the engine),
            # workers and work pools (the runner serves), concurrency leases.
            "PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": "false",
            "PREFECT_SERVER_SERVICES_FOREMAN_ENABLED": "false",
            "PREFECT_SERVER_SERVICES_CLEANUP_RECONCILER_ENABLED": "false",
            "PREFECT_SERVER_SERVICES_REPOSSESSOR_ENABLED": "false",
            # Prefect keeps a deleted run's logs until its orphan sweep: a purged case's logs
            # must go (security.md rule 9), so the sweep runs, hourly.
            "PREFECT_SERVER_SERVICES_DB_VACUUM_ENABLED": "events,orphans",
            "PREFECT_SERVER_SERVICES_DB_VACUUM_ORPHAN_CLEANUP_LOOP_SECONDS": "3600",
        }
    )
    if tuned:
        env.update(SERVER_TUNING)
    return env
