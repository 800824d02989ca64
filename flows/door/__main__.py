"""`python -m flows.door`: the door, as `rehab up` runs it beside Prefect's server and the
runner (REHAB_HOST:REHAB_PORT; Prefect at PREFECT_API_URL with the auth string of this home)."""

from __future__ import annotations

import logging
import os

import uvicorn

from flows.app import App
from flows.door.app import DoorConfig, make_door
from flows.prefect import auth as prefect_auth
from flows.prefect import engine_client


def main() -> None:
    """Serve the door until stopped."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    os.umask(0o077)
    app = App()
    settings = app.settings
    api = engine_client.api_url(settings)
    config = DoorConfig(
        prefect_url=api.removesuffix("/").removesuffix("/api"),
        auth_string=prefect_auth.auth_string(settings),
        public_url=settings.door_url,
    )
    door = make_door(app, config)  # app.directories: as the files are now, at each request
    # The access log would carry every URL; the door's own audit rows say what matters.
    uvicorn.run(door, host=settings.host, port=settings.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
