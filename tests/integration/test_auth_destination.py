"""REHAB_HOME's auth string opens the whole Prefect API of the server `rehab up` started: it is
sent to that server only. A server named by PREFECT_API_URL gets only what
PREFECT_API_AUTH_STRING says (security.md rule 1). Real CLI runs against a real HTTP listener
on 127.0.0.1 that records the Authorization header of every request it receives."""

from __future__ import annotations

import base64
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from casework.services import engine, plan_changes
from casework.store.db import open_store
from flows.home.engine_record import write_record
from flows.settings import Settings
from plans.directories import Directories
from plans.loading import load_plan
from tests.conftest import EXAMPLES, T0
from tests.e2e.harness import free_port

EMBEDDED = "rehab:the-embedded-servers-string"
THEIRS = "ops:the-other-servers-string"


@dataclass
class Listener:
    """Answers /api/health 200 and everything else 401, recording each Authorization header
    (None when a request carries none)."""

    port: int = field(default_factory=free_port)
    headers: list[str | None] = field(default_factory=list)

    def start(self) -> Listener:
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                listener.headers.append(self.headers.get("Authorization"))
                length = int(self.headers.get("Content-Length", 0) or 0)
                self.rfile.read(length)
                self.send_response(200 if self.path.endswith("/health") else 401)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "4")
                self.end_headers()
                self.wfile.write(b"true")

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _answer  # noqa: N815  # http.server's hook names

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()  # a short poll: each stop waits for one
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def credentials(self) -> set[str]:
        """Every credential received, decoded."""
        return {
            base64.b64decode(h.removeprefix("Basic ")).decode()
            for h in self.headers
            if h and h.startswith("Basic ")
        }


@pytest.fixture
def listener() -> Iterator[Listener]:
    started = Listener().start()
    yield started
    started.stop()


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A REHAB_HOME in which `rehab up` once made its server's auth string."""
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    (home / "prefect-auth").write_text(EMBEDDED + "\n")
    (home / "prefect-auth").chmod(0o600)
    return home


def rehab(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flows", *args],
        env={"REHAB_HOME": str(home), "PATH": "/usr/bin:/bin", **env},
        input="",
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def recorded_embedded_server(home: Path, port: int) -> None:
    """What `rehab up` records when it starts its own server on `port`."""
    settings = Settings(home=home, prefect_port=port, PREFECT_API_URL=None)
    write_record(settings, partners_file=settings.partners_file, staff_file=settings.staff_file)


PLAN = str(EXAMPLES / "BC-2026-0042.yaml")


def test_a_server_named_by_prefect_api_url_never_gets_rehab_homes_auth_string(
    home: Path, listener: Listener
) -> None:
    done = rehab(home, "plan", "launch", PLAN, PREFECT_API_URL=listener.api)
    assert done.returncode == 1 and "refused" in done.stderr, done.stderr
    assert listener.headers, "the command did ask the server"
    assert EMBEDDED not in listener.credentials()
    assert listener.credentials() == set(), "it was told no string for that server"


def test_a_server_named_by_prefect_api_url_gets_the_string_prefect_api_auth_string_gives(
    home: Path, listener: Listener
) -> None:
    rehab(
        home, "plan", "launch", PLAN, PREFECT_API_URL=listener.api, PREFECT_API_AUTH_STRING=THEIRS
    )
    assert listener.credentials() == {THEIRS}


def test_another_server_on_this_host_does_not_get_it_while_rehab_up_runs_its_own(
    home: Path, listener: Listener
) -> None:
    recorded_embedded_server(home, free_port())  # `rehab up`'s server is elsewhere
    rehab(home, "plan", "launch", PLAN, PREFECT_API_URL=listener.api)
    assert listener.headers and listener.credentials() == set()


def test_the_server_rehab_up_started_gets_it_at_the_address_rehab_up_recorded(
    home: Path, listener: Listener
) -> None:
    recorded_embedded_server(home, listener.port)
    done = rehab(home, "plan", "launch", PLAN)  # no address in the environment: the record's
    assert "refused" in done.stderr and listener.api in done.stderr, done.stderr
    assert listener.credentials() == {EMBEDDED}


def test_prefects_own_client_sends_a_foreign_server_no_string_of_rehab_home(
    home: Path, listener: Listener, directories: Directories
) -> None:
    store = open_store(f"sqlite:///{home / 'cases.db'}", home / "secret.key")
    try:
        plan = load_plan(EXAMPLES / "BC-2026-0042.yaml", directories).without_person()
        plan_changes.launch(
            store, directories, plan=plan, by="n-zdolnik", now=T0, approval_required=False
        )
        # Its run, as if it had been created: the command then updates it through Prefect.
        engine.set_flow_run(store, code=plan.case, flow_run_id=str(uuid.uuid4()), now=T0)
    finally:
        store.dispose()
    done = rehab(
        home,
        "consent",
        "record",
        "BC-2026-0042",
        "--scope",
        "medical",
        "--given",
        "--by",
        "n-zdolnik",
        PREFECT_API_URL=listener.api,
    )
    assert done.returncode == 0, done.stderr  # recorded; the plan follows at the clock's tick
    assert listener.headers, "Prefect's client asked the server"
    assert EMBEDDED not in listener.credentials()
