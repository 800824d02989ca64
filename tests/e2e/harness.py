"""A real Prefect server and a real runner in child processes, driven through the `rehab`
command, with time compressed to seconds."""

from __future__ import annotations

import base64
import itertools
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pyotp
from sqlalchemy import select

from casework.store.db import open_store
from casework.store.tables import AuditRow
from flows.prefect.server import server_command
from tests.cli import rehab as in_process
from tests.conftest import EXAMPLES
from tests.e2e.prefect_database import keep, seed

T = TypeVar("T")
PREFECT = str(Path(sys.executable).with_name("prefect"))


def basic(auth: str) -> str:
    """The Authorization header the UI sends for an auth string given as its password."""
    return "Basic " + base64.b64encode(auth.encode()).decode()


# Ports below Linux's ephemeral range (32768 up), a block for each xdist worker: two workers,
# or a port the kernel hands an outgoing connection, never get the same one.
PORT_BLOCK = 1000
_next_port = 20000 + PORT_BLOCK * int(os.environ.get("PYTEST_XDIST_WORKER", "gw0")[2:] or 0)
_ports = itertools.cycle(range(_next_port, _next_port + PORT_BLOCK))


def free_port() -> int:
    """A port nothing listens on, from this worker's block, not handed out again soon."""
    for _ in range(PORT_BLOCK):
        port = next(_ports)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise AssertionError(f"no free port in {_next_port}..{_next_port + PORT_BLOCK - 1}")


def wait_for(check: Callable[[], T], *, timeout: float, what: str, every: float = 0.5) -> T:
    """Poll until `check` returns something truthy; fail naming `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}; last: {last!r}")


def start_up(env: dict[str, str], *args: str, timeout: float = 240) -> tuple[Any, str]:
    """`rehab up ARGS` with `env`, once it says it is up: the process, and what it printed."""
    up = subprocess.Popen(
        [sys.executable, "-m", "flows", "up", *args],
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    assert up.stdout is not None
    out, lines = up.stdout, []
    try:
        wait_for(
            lambda: lines.append(out.readline()) or "Press Ctrl-C" in lines[-1],
            timeout=timeout,
            what=f"`rehab up {' '.join(args)}` to be up",
            every=0,
        )
    except BaseException:
        up.kill()
        raise
    return up, "".join(lines)


AUTH = "rehab:e2e-auth-string"  # `rehab up` makes one at random; a server of the tests' own


class PrefectServer:
    """`prefect server start` on a free port, SQLite under its own home, closed as `rehab up`
    closes its own: an auth string and CSRF protection."""

    def __init__(self, home: Path, port: int | None = None, **env: str) -> None:
        self.home, self.port, self.extra_env = home, port or free_port(), env
        self.api = f"http://127.0.0.1:{self.port}/api"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> PrefectServer:
        self.home.mkdir(parents=True, exist_ok=True)
        on_sqlite = "PREFECT_API_DATABASE_CONNECTION_URL" not in self.extra_env
        new = on_sqlite and not (self.home / "prefect.db").exists()
        if new:
            seed(self.home)
        env = dict(
            os.environ,
            PREFECT_HOME=str(self.home),
            PREFECT_API_URL=self.api,
            PREFECT_SERVER_ANALYTICS_ENABLED="false",
            PREFECT_SERVER_API_HOST="127.0.0.1",
            PREFECT_SERVER_API_PORT=str(self.port),
            PREFECT_SERVER_UI_ENABLED="false",
            PREFECT_SERVER_API_AUTH_STRING=AUTH,
            PREFECT_SERVER_CSRF_PROTECTION_ENABLED="true",
            # As `rehab up` sets it, the orphan sweep oftener: a purged case's logs go soon.
            PREFECT_SERVER_SERVICES_DB_VACUUM_ENABLED="events,orphans",
            PREFECT_SERVER_SERVICES_DB_VACUUM_ORPHAN_CLEANUP_LOOP_SECONDS="5",
            **self.extra_env,
        )
        log = (self.home / "server.log").open("ab")
        self.process = subprocess.Popen(
            server_command(self.port),  # as `rehab up` starts it
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for(self.healthy, timeout=120, what="the Prefect server to answer")
        if new:
            keep(self.home)
        return self

    def healthy(self) -> bool:
        try:
            return httpx.get(f"{self.api}/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        auth: str | None = AUTH,
        csrf: bool = True,
    ) -> httpx.Response:
        """One request as the UI makes it (or, with `auth=None` / `csrf=False`, as a stranger
        would); a 503 from a busy SQLite server is asked again, as Prefect's client does."""
        headers = {"Authorization": basic(auth)} if auth else {}
        if csrf and auth and method.upper() != "GET":
            headers |= self.csrf_headers(auth)
        for attempt in range(6):
            response = httpx.request(
                method, f"{self.api}{path}", json=body, headers=headers, timeout=30
            )
            if response.status_code != 503:
                break
            time.sleep(0.5 * 2**attempt)
        return response

    def csrf_headers(self, auth: str | None) -> dict[str, str]:
        """A CSRF token for this client, as the UI asks for one."""
        client = "rehab-e2e-tests"
        token = httpx.get(
            f"{self.api}/csrf-token",
            params={"client": client},
            headers={"Authorization": basic(auth)} if auth else {},
            timeout=30,
        ).json()["token"]
        return {"Prefect-Csrf-Token": token, "Prefect-Csrf-Client": client}

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, sig)
            self.process.wait(timeout=60)


class Rehab:
    """One REHAB_HOME with its runner, and the `rehab` command pointed at it."""

    def __init__(self, home: Path, server: PrefectServer, **env: str) -> None:
        self.home, self.server = home, server
        self.env = dict(
            os.environ,
            REHAB_HOME=str(home),
            PREFECT_API_URL=server.api,
            PREFECT_HOME=str(home / "prefect"),
            REHAB_CLOCK_INTERVAL="1s",
            REHAB_RUNNER_POLL="1s",
            PREFECT_RUNNER_POLL_FREQUENCY="1",
            REHAB_STALE_RUN_AFTER="20s",
            PREFECT_SERVER_ANALYTICS_ENABLED="false",
            PREFECT_LOGGING_LEVEL="INFO",
            PREFECT_API_AUTH_STRING=AUTH,  # a server rehab did not start: its auth string
            **env,
        )
        self.runner: subprocess.Popen[bytes] | None = None
        self._door: Door | None = None
        self._people: dict[str, httpx.Client] = {}

    def start_runner(self, cwd: Path | None = None, pythonpath: Path | None = None) -> None:
        env = dict(self.env)
        if pythonpath:
            env["PYTHONPATH"] = str(pythonpath)
        log = (self.home / "runner.log").open("ab")
        self.runner = subprocess.Popen(
            [sys.executable, "-m", "flows.processes.serve"],
            env=env,
            cwd=cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for(self.deployments_served, timeout=60, what="the deployments")

    def deployments_served(self) -> bool:
        names = {d["name"] for d in self.api("POST", "/deployments/filter", {})}
        return {"rehabilitation-plan", "decision"} <= names

    def stop_runner(self, sig: int = signal.SIGTERM) -> None:
        """SIGTERM to the runner alone, as `rehab up` does (it drains its runs in flight);
        SIGKILL to its whole process group, runs included."""
        if self.runner and self.runner.poll() is None:
            if sig == signal.SIGTERM:
                self.runner.send_signal(sig)
            else:
                os.killpg(self.runner.pid, sig)
            self.runner.wait(timeout=180)

    def runner_children(self) -> list[int]:
        """Processes the runner holds (one per flow run in flight)."""
        assert self.runner is not None
        out = subprocess.run(
            ["pgrep", "-P", str(self.runner.pid)], capture_output=True, text=True, check=False
        ).stdout
        return [int(p) for p in out.split()]

    def rehab(
        self,
        *args: str,
        ok: bool = True,
        stdin: str | None = None,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [sys.executable, "-m", "flows", *args],
            env={**self.env, **(env or {})},
            input=stdin if stdin is not None else "",
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if ok:
            assert done.returncode == 0, f"rehab {' '.join(args)}: {done.stderr}{done.stdout}"
        return done

    def status(self, code: str) -> dict[str, Any]:
        """`rehab plan status CODE --json`, run in this process: with --json it only reads the
        store, and the tests look at it again and again while plans run. A real process spends
        over a second of CPU on imports per look, taken from the runner and the server on a
        two-core machine, and answers a second or more late."""
        done = in_process(self.env, "plan", "status", code, "--json")
        assert done.returncode == 0, f"rehab plan status {code}: {done.output}"
        return dict(json.loads(done.stdout))

    def steps(self, code: str) -> dict[str, str]:
        return {s["id"]: s["state"] for s in self.status(code)["steps"]}

    def api(self, method: str, path: str, body: Any = None) -> Any:
        """Call the Prefect API as its own client (and the UI) do: with the auth string and,
        for a change, a CSRF token; a busy server's 503 is asked again."""
        response = self.server.call(method, path, body)
        response.raise_for_status()
        return response.json() if response.content else None

    def flow_run(self, run_id: str) -> dict[str, Any]:
        return dict(self.api("GET", f"/flow_runs/{run_id}"))

    def run_state(self, run_id: str) -> str:
        return str(self.flow_run(run_id)["state"]["type"])

    def decision_runs(self, code: str) -> list[dict[str, Any]]:
        runs = self.api(
            "POST", "/flow_runs/filter", {"flow_runs": {"tags": {"all_": []}}, "limit": 200}
        )
        return [r for r in runs if r["name"].startswith(f"{code} · ")]

    @property
    def door(self) -> Door:
        """This home's door (`python -m flows.door`), started on first use."""
        if self._door is None:
            self._door = Door(self)
        return self._door

    def stop_door(self) -> None:
        if self._door is not None:
            self._door.stop()
            self._door = None

    def person(self, staff: str) -> httpx.Client:
        """A browser of `staff`, signed in at the door (enrolled once, as the operator does)."""
        if staff not in self._people:
            self._people[staff] = self.door.sign_in(staff)
        return self._people[staff]

    def decide_as(self, staff: str, run_id: str, choose: dict[str, str]) -> httpx.Response:
        """Submit a decision run's form as `staff`, signed in, through the door, as the UI
        fills it in."""
        keyset = self.flow_run(run_id)["state"]["state_details"]["run_input_keyset"]
        stored = self.api("GET", f"/flow_runs/{run_id}/input/{keyset['schema']}")
        schema = json.loads(stored) if isinstance(stored, str) else stored
        values = as_the_ui_fills_it(schema, choose)
        browser = self.person(staff)
        return browser.post(
            f"/api/flow_runs/{run_id}/resume",
            json={"run_input": values},
            headers=ui_csrf(browser),
        )

    def enrol(self, staff: str) -> pyotp.TOTP:
        """The staff member's authenticator, as `rehab staff enrol --json` sets one up."""
        uri = json.loads(self.rehab("staff", "enrol", staff, "--json").stdout)["uri"]
        return pyotp.parse_uri(uri)  # type: ignore[return-value]  # a TOTP URI gives a TOTP

    def audit(self, code: str | None) -> list[tuple[str, str, dict[str, Any]]]:
        """(actor, action, detail) of the case's audit rows (None: rows of no case), read
        from the store itself."""
        return [row for case, *row in self.audit_all() if case == code]  # type: ignore[misc]

    def audit_all(self) -> list[tuple[str | None, str, str, dict[str, Any]]]:
        """(case, actor, action, detail) of every audit row, oldest first."""
        store = open_store(f"sqlite:///{self.home / 'cases.db'}", self.home / "secret.key")
        try:
            with store.session() as session:
                rows = session.scalars(select(AuditRow).order_by(AuditRow.id))
                return [(r.case_code, r.actor, r.action, dict(r.detail)) for r in rows]
        finally:
            store.dispose()

    def write_plan(self, name: str, text: str) -> Path:
        path = self.home / f"{name}.yaml"
        path.write_text(text)
        return path


PASSWORD = "a long password for the door"


class Door:
    """`python -m flows.door` for a test home, on a free port."""

    def __init__(self, rehab: Rehab) -> None:
        self.rehab, self.port = rehab, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {"REHAB_PORT": str(self.port), "REHAB_HOST": "127.0.0.1"}
        log = (rehab.home / "door.log").open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "flows.door"],
            env={**rehab.env, **self.env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        wait_for(self.up, timeout=60, what="the door to answer")

    def up(self) -> bool:
        try:
            return httpx.get(f"{self.url}/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)

    def sign_in(self, staff: str) -> httpx.Client:
        """Enrol `staff` (`rehab staff enrol --json`), set her password through her invite,
        sign her in; her browser, with its session cookie."""
        data = json.loads(self.rehab.rehab("staff", "enrol", staff, "--json", env=self.env).stdout)
        totp: pyotp.TOTP = pyotp.parse_uri(data["uri"])  # type: ignore[assignment]  # TOTP URI
        browser = httpx.Client(base_url=self.url, timeout=120)
        invite = data["invite"].removeprefix(self.url)
        page = browser.get(invite)
        done = browser.post(invite, data={"form": form_nonce(page.text), "password": PASSWORD})
        assert done.status_code == 303, done.text
        page = browser.get("/sign-in")
        fields = {"staff": staff, "password": PASSWORD, "code": totp.now(), "next": "/"}
        signed = browser.post("/sign-in", data={"form": form_nonce(page.text), **fields})
        assert signed.status_code == 303, signed.text
        return browser


def form_nonce(page: str) -> str:
    """The nonce a door page's form carries."""
    match = re.search(r'name="form" value="([^"]+)"', page)
    assert match, "the page's form carries its nonce"
    return match.group(1)


def ui_csrf(browser: httpx.Client) -> dict[str, str]:
    """The CSRF headers Prefect's UI fetches (through the door) before any POST."""
    client = "rehab-e2e-tests"
    token = browser.get("/api/csrf-token", params={"client": client}).json()["token"]
    return {"Prefect-Csrf-Token": token, "Prefect-Csrf-Client": client}


def example_directories() -> dict[str, str]:
    return {
        "REHAB_PARTNERS_FILE": str(EXAMPLES / "partners.yaml"),
        "REHAB_STAFF_FILE": str(EXAMPLES / "staff.yaml"),
    }


def as_the_ui_fills_it(schema: dict[str, Any], choose: dict[str, str]) -> dict[str, Any]:
    """The run input the Prefect UI's form sends for `schema`: a list (`enum`, also behind a
    `$ref`) offers its values and the person picks `choose[field]`, which must be offered; a
    `const` is a disabled, empty box, so nothing is sent for it; a field with a default the
    person leaves alone is sent as the UI fills it in; any other field is typed."""
    values: dict[str, Any] = {}
    for name, field in schema.get("properties", {}).items():
        prop = (
            {**schema["$defs"][field["$ref"].rsplit("/", 1)[-1]], **field}
            if "$ref" in field
            else field
        )
        if "const" in prop:
            continue
        if name not in choose and "default" in prop:
            values[name] = prop["default"]
            continue
        if "enum" in prop:
            assert choose[name] in prop["enum"], f"{choose[name]!r} is not offered for {name}"
        values[name] = choose[name]
    return values
