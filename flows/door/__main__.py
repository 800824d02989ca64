"""`python -m flows.door`: the door, as `rehab up` runs it beside Prefect's server and the
runner (REHAB_HOST:REHAB_PORT; Prefect at PREFECT_API_URL with the auth string of this home)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import uvicorn

from flows import prefect_auth
from flows.app import App
from flows.door.app import DoorConfig, make_door
from notifications.channels import check_url
from plans.directories import Directories
from plans.loading import load_directories


class FreshDirectories:
    """The directories as they are now: read again whenever either file changed, so a role
    changed or a person removed counts at her next request (security.md rule 3)."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.files = (Path(app.settings.partners_file), Path(app.settings.staff_file))
        self.stamp: tuple[int, ...] | None = None

    def __call__(self) -> Directories:
        stamp = tuple(f.stat().st_mtime_ns for f in self.files)
        if stamp != self.stamp:
            fresh = load_directories(*self.files, url_check=check_url)
            self.app.directories = fresh  # replaces the cached reading
            self.stamp = stamp
        return self.app.directories


def main() -> None:
    """Serve the door until stopped."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    os.umask(0o077)
    app = App()
    settings = app.settings
    api = settings.prefect_api_url or f"http://127.0.0.1:{settings.prefect_port}/api"
    config = DoorConfig(
        prefect_url=api.removesuffix("/").removesuffix("/api"),
        auth_string=prefect_auth.auth_string(settings),
        public_url=settings.door_url,
    )
    door = make_door(app, config, directories=FreshDirectories(app))
    # The access log would carry every URL; the door's own audit rows say what matters.
    uvicorn.run(door, host=settings.host, port=settings.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
