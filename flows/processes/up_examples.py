"""What `rehab up` does besides running the engine: the Runs page's saved views, and for
`--examples` the example plans and a local mail catcher their messages arrive at."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

from casework.services.programme import approval_required
from flows.app import App
from flows.home.engine_record import write_record
from flows.home.logfiles import logged
from flows.prefect import engine_client
from flows.prefect.errors import RunNotCreated
from flows.processes.errors import ProcessStopped
from flows.processes.mail_catcher import inbox, overlay_directories
from flows.settings import EXAMPLES, Settings

CATCHER_START_SECONDS = 30


def shipped_directories(settings: Settings) -> bool:
    """True if the directories are the shipped examples (whose addresses reach no one)."""
    return settings.partners_file.resolve() == (EXAMPLES / "partners.yaml").resolve() and (
        settings.staff_file.resolve() == (EXAMPLES / "staff.yaml").resolve()
    )


def start_mail_catcher(
    settings: Settings, log: IO[str], *, preexec: Callable[[], None]
) -> tuple[subprocess.Popen[bytes], dict[str, str]]:
    """Start the local mail catcher (flows/processes/mail_catcher.py) on a free port, wait until it
    listens, and write the example directories sending there; returns it and the runner's
    environment pointing at those directories."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    catcher = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "flows.processes.mail_catcher",
            str(inbox(settings.home_dir)),
            str(port),
        ],
        env=dict(os.environ, **engine_client.prefect_environment(settings)),  # marks it ours
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=preexec,  # noqa: PLW1509  # as in flows/processes/children.py: pumps only
    )
    logged(catcher, log)  # through the pump: a purge takes a case's lines out of it
    deadline = time.monotonic() + CATCHER_START_SECONDS
    while catcher.poll() is None and time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                partners, staff = overlay_directories(
                    settings.partners_file,
                    settings.staff_file,
                    into=settings.home_dir / "example-directories",
                    port=port,
                )
                return catcher, {
                    "REHAB_PARTNERS_FILE": str(partners),
                    "REHAB_STAFF_FILE": str(staff),
                }
        time.sleep(0.2)
    if catcher.poll() is not None:
        raise ProcessStopped("the mail catcher", Path(log.name), catcher.returncode, "at start")
    catcher.kill()
    catcher.wait()
    raise ProcessStopped(
        "the mail catcher", Path(log.name), when=f"within {CATCHER_START_SECONDS} s"
    )


def mail_for_examples(
    settings: Settings, log: IO[str], *, examples: bool, preexec: Callable[[], None]
) -> tuple[subprocess.Popen[bytes] | None, dict[str, str]]:
    """For `--examples` with the shipped directories, the mail catcher and the runner's
    environment sending there (their addresses reach no one), recorded as the engine's
    directories; else nothing."""
    if not (examples and shipped_directories(settings)):
        return None, {}
    catcher, runner_env = start_mail_catcher(settings, log, preexec=preexec)
    # Commands check and name the copies the runner sends through, not the shipped files.
    write_record(
        settings,
        partners_file=Path(runner_env["REHAB_PARTNERS_FILE"]),
        staff_file=Path(runner_env["REHAB_STAFF_FILE"]),
    )
    return catcher, runner_env


def saved_views(settings: Settings) -> str:
    """Make sure the Runs page's saved views exist; what to print about them."""
    from flows.prefect import views  # noqa: PLC0415  # imports prefect

    engine_client.connect(settings)
    try:
        names = views.ensure_views()
    except Exception as exc:  # a convenience: the engine runs without them
        return f"  saved views not created ({type(exc).__name__}); the next start tries again\n"
    return f"  saved views in the Runs page (its filter menu): {', '.join(names)}\n"


def launch_examples(app: App, files: list[Path]) -> list[str]:
    """Launch the example plans that are not in the case store yet (for a first look)."""
    from casework.services import plan_changes  # noqa: PLC0415  # only for --examples
    from casework.store import queries  # noqa: PLC0415  # only for --examples
    from plans.loading import load_plan  # noqa: PLC0415  # only for --examples

    known = {c["case"] for c in queries.list_cases(app.store)}
    engine = engine_client.connect(app.settings)
    launched = []
    for file in files:
        plan = load_plan(file, app.directories)
        if plan.case in known:
            continue
        plan_changes.launch(
            app.store,
            app.directories,
            plan=plan,
            by=plan.manager,
            now=app.now(),
            approval_required=approval_required(
                app.store, app.directories, engine_default=None, now=app.now()
            ),
            followed_up_by=engine.follow_up_by(app),
        )
        for _ in range(30):  # the runner registers its deployments a moment after it starts
            try:
                engine.start_plan(app, plan)
                break
            except RunNotCreated:
                time.sleep(1)
        launched.append(plan.case)
    return launched
