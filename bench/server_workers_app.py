"""Prefect's server with several web workers, for bench/server_workers.py: each worker's app is
Prefect's API with rehab's bulk-inputs route (as flows/processes/prefect_server_main.py gives
the one-process server), the background services left to a process of their own.

    python -m bench.server_workers_app --port 4200 --workers 2
"""

from __future__ import annotations

import argparse
from typing import Any


def create_app() -> Any:
    """One worker's app: the web server only, with the bulk-inputs route."""
    from prefect.server.api.server import create_app as prefects  # noqa: PLC0415

    from flows.processes.prefect_server_inputs import add_bulk_inputs  # noqa: PLC0415

    add_bulk_inputs()
    return prefects(final=True, webserver_only=True)


def main() -> None:
    """Serve `create_app` on 127.0.0.1 with `--workers` processes."""
    import uvicorn  # noqa: PLC0415

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    uvicorn.run(
        "bench.server_workers_app:create_app",
        factory=True,
        host="127.0.0.1",
        port=args.port,
        workers=args.workers,
        log_level="warning",
    )


if __name__ == "__main__":
    main()
