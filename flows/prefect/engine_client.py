"""The CLI's side of the engine: is it up, start a plan's run, wake a plan, settle decisions."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

import httpx

from flows.app import App
from flows.home.engine_record import api_url, talks_to_embedded_server, ui_url
from flows.prefect.auth import auth_file, auth_string
from flows.prefect.errors import EngineRefusedAuth, EngineUnreachable, RunNotCreated
from flows.settings import Settings
from plans.model import Plan

# A launcher starts its plan's run and first wake right after recording it; only if it has not
# (it stopped) does the clock, after this long. Within it the clock does not also follow the
# plan up, which would make its run's artifacts twice.
LAUNCHER_FOLLOWS_UP = timedelta(minutes=2)

# api_url and ui_url live with the engine's record; they are this module's too, as before.
__all__ = [
    "Engine",
    "api_url",
    "connect",
    "engine",
    "is_up",
    "lets_us_in",
    "prefect_environment",
    "ui_url",
]


def prefect_environment(settings: Settings) -> dict[str, str]:
    """What Prefect's own client needs to talk to rehab's server (its address and auth
    string) and keep its files in REHAB_HOME."""
    env = {
        "PREFECT_API_URL": api_url(settings),
        "PREFECT_HOME": str(settings.home_dir / "prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_CLIENT_CSRF_SUPPORT_ENABLED": "true",
    }
    auth = auth_string(settings)
    if auth:
        env["PREFECT_API_AUTH_STRING"] = auth
    return env


@cache
def _http() -> httpx.Client:
    """One HTTP client for the process: a new one builds a TLS context (about 40 ms of CPU),
    even for a plain http address, and the engine serving its operator's launches checks the
    server at each."""
    return httpx.Client()


def is_up(settings: Settings, timeout: float = 3.0) -> bool:
    """True if the Prefect API answers its health check (which needs no auth)."""
    try:
        return _http().get(f"{api_url(settings)}/health", timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return False


def door_is_up(settings: Settings, timeout: float = 3.0) -> bool:
    """True if the door answers its health check."""
    try:
        url = f"http://{settings.host}:{settings.port}/health"
        return _http().get(url, timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return False


def lets_us_in(settings: Settings, timeout: float = 5.0) -> bool:
    """True if the Prefect API accepts rehab's auth string (or needs none)."""
    auth = auth_string(settings)
    try:
        response = _http().get(
            f"{api_url(settings)}/admin/version",
            timeout=timeout,
            auth=_basic(auth) if auth else None,
        )
    except httpx.HTTPError:
        return False
    return response.status_code == 200


def _basic(auth: str) -> httpx.Auth:
    # Prefect compares the whole decoded credential with its auth string: "user:password".
    user, _, password = auth.partition(":")
    return httpx.BasicAuth(user, password)


@dataclass
class Engine:
    """A reachable Prefect server."""

    settings: Settings

    def run_url(self, run_id: str | None) -> str | None:
        """The flow run's page in the UI."""
        return f"{ui_url(self.settings)}/runs/flow-run/{run_id}" if run_id else None

    def start_plan(self, app: App, plan: Plan) -> str | None:
        """Create the plan's flow run and remember it, then do its first wake; RunNotCreated
        (with the clock to start it at its next tick) if the deployments are not served yet."""
        from casework.services import engine  # noqa: PLC0415  # with the rest, on first use
        from flows.tending import new_run  # noqa: PLC0415  # imports prefect

        try:
            run_id = new_run(app, plan.case)
        except Exception as exc:  # recorded already: the clock starts the run when it can
            engine.look_again(app.store, code=plan.case, at=app.now())
            raise RunNotCreated(plan.case, type(exc).__name__) from exc
        self.after_change(app, plan.case)
        return run_id

    def start_plans(self, app: App, codes: list[str], *, threads: int) -> dict[str, str]:
        """`start_plan` for many plans: their runs created together, their first wakes
        followed up as one clock tick's. Returns the run ids by case code; a plan missing
        there has no run yet and is the clock's at its next tick."""
        from casework.services import engine  # noqa: PLC0415  # with the rest, on first use
        from flows import tending  # noqa: PLC0415  # imports prefect

        try:
            started = tending.new_runs(app, codes)
        except Exception:  # Prefect away: every one is the clock's
            started = {}
        wakes = []
        for code in codes:
            woken = None
            if code in started:
                try:
                    woken = tending.reconcile(app, code)
                except Exception:  # not the case's own trouble (the store busy): the clock's
                    woken = None
            if woken is None:
                engine.look_again(app.store, code=code, at=app.now())
            else:
                wakes.append(woken)
        if wakes:  # a failure there leaves its plan due again (tending.follow_up)
            tending.follow_up_all(app, wakes, threads=threads)
        return started

    def follow_up_by(self, app: App) -> datetime:
        """Until when a launch through this engine is followed up by its launcher alone (its
        run and first wake come right after it is recorded), not by the clock."""
        return app.now() + LAUNCHER_FOLLOWS_UP

    def after_change(self, app: App, code: str) -> str:
        """After a person changed a case: do what it makes due, tell the decision runs, update
        the plan's run. Failures here lose nothing: the store has the change, and the clock
        does the rest at its next tick."""
        from flows.tending import tend_after_change  # noqa: PLC0415  # imports prefect

        said = tend_after_change(app, code)
        return said or "the plan will follow at the next clock tick"


def engine(settings: Settings) -> Engine:
    """The engine, whether or not it is up right now (changes after a person's work are
    retried by the clock)."""
    os.environ.update(prefect_environment(settings))
    return Engine(settings)


def connect(settings: Settings) -> Engine:
    """The engine, or EngineUnreachable saying how to start it; nothing has been changed yet."""
    os.environ.update(prefect_environment(settings))
    if not is_up(settings):
        raise EngineUnreachable(api_url(settings))
    if not lets_us_in(settings):
        embedded = talks_to_embedded_server(settings)
        raise EngineRefusedAuth(api_url(settings), str(auth_file(settings)) if embedded else None)
    return Engine(settings)
