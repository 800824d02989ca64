"""`rehab up`: starts the embedded server and the runner, refuses a second start, and stops
cleanly on Ctrl-C without leaving runs Cancelled or Crashed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.e2e.harness import basic, free_port, wait_for

pytestmark = pytest.mark.e2e

PLAN = """
case: E2E-UP-1
manager: n-zdolnik
steps:
  - {id: stay, domain: housing, title: Crisis room, partner: brest-crisis-room, duration: 1h}
"""


def rehab_env(home: Path, port: int, door_port: int | None = None) -> dict[str, str]:
    """`rehab up`'s environment for a test: Prefect on `port`, the door on a free port."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "REHAB_"))}
    env.update(
        REHAB_HOME=str(home),
        REHAB_PREFECT_PORT=str(port),
        REHAB_PORT=str(door_port or free_port()),
        REHAB_CLOCK_INTERVAL="1s",
        REHAB_RUNNER_POLL="1s",
    )
    return env


def rehab(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flows", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_up_serves_refuses_a_second_start_and_stops_cleanly(tmp_path: Path) -> None:
    port = free_port()
    env = rehab_env(tmp_path / "home", port)
    up = subprocess.Popen(
        [sys.executable, "-m", "flows", "up"],
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        assert up.stdout is not None
        lines: list[str] = []
        wait_for(
            lambda: lines.append(up.stdout.readline()) or "Press Ctrl-C" in lines[-1],
            timeout=180,
            what="`rehab up` to be up",
            every=0,
        )
        door = f"http://127.0.0.1:{env['REHAB_PORT']}"
        assert f"rehab is up: {door}/" in "".join(lines), "one address for people: the door"
        auth_file = tmp_path / "home" / "prefect-auth"
        assert auth_file.stat().st_mode & 0o777 == 0o600
        assert auth_file.read_text().strip() not in "".join(lines), "never shown to a person"
        assert "prefect-auth" not in "".join(lines)
        assert httpx.get(f"{door}/health", timeout=5).json() == {"status": "up"}
        assert httpx.get(f"{door}/api/flow_runs/filter", timeout=5).status_code == 401
        assert httpx.get(f"{door}/", timeout=5).headers["location"].startswith("/sign-in")
        api = f"http://127.0.0.1:{port}/api"
        assert httpx.get(f"{api}/health", timeout=5).status_code == 200, "health stays open"
        assert httpx.get(f"{api}/admin/version", timeout=5).status_code == 401
        signed_in = {"Authorization": basic(auth_file.read_text().strip())}
        refused = httpx.post(f"{api}/flow_runs/filter", json={}, headers=signed_in, timeout=5)
        assert refused.status_code == 403, "a change needs a CSRF token too"
        preflight = httpx.options(
            f"{api}/flow_runs/filter",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
            timeout=5,
        )
        assert preflight.headers.get("access-control-allow-origin") != "https://evil.example"

        second = subprocess.run(
            [sys.executable, "-m", "flows", "up"],
            env=env,
            text=True,
            capture_output=True,
            timeout=60,
            check=False,
        )
        assert second.returncode == 1 and "already running" in second.stderr
        other_home = rehab_env(tmp_path / "other", port)
        taken = subprocess.run(
            [sys.executable, "-m", "flows", "up"],
            env=other_home,
            text=True,
            capture_output=True,
            timeout=60,
            check=False,
        )
        assert taken.returncode == 1 and f"port {port}" in taken.stderr
        door_taken = subprocess.run(
            [sys.executable, "-m", "flows", "up"],
            env={**rehab_env(tmp_path / "third", free_port()), "REHAB_PORT": env["REHAB_PORT"]},
            text=True,
            capture_output=True,
            timeout=120,
            check=False,
        )
        assert door_taken.returncode == 1 and f"port {env['REHAB_PORT']}" in door_taken.stderr

        plan = tmp_path / "plan.yaml"
        plan.write_text(PLAN)
        assert rehab(env, "plan", "launch", str(plan)).returncode == 0
        run_id = json.loads(rehab(env, "plan", "status", "E2E-UP-1", "--json").stdout)[
            "flow_run_id"
        ]

        def run_state() -> str:
            body = httpx.get(f"{api}/flow_runs/{run_id}", headers=signed_in, timeout=5)
            return str(body.json()["state"]["type"])

        wait_for(
            lambda: run_state() in ("RUNNING", "PAUSED"), timeout=60, what="the plan run to start"
        )
        up.send_signal(signal.SIGINT)  # Ctrl-C, possibly while the plan run is in flight
        rest = up.communicate(timeout=240)[0]
        assert up.returncode == 0, rest
        assert "stopped." in rest
    finally:
        if up.poll() is None:
            up.kill()
    # Everything stopped; start again and find the run waiting, neither Cancelled nor Crashed.
    again = subprocess.Popen(
        [sys.executable, "-m", "flows", "up"],
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        assert again.stdout is not None
        wait_for(
            lambda: "Press Ctrl-C" in again.stdout.readline(),
            timeout=180,
            what="the second `rehab up`",
            every=0,
        )
        assert run_state() == "PAUSED"
    finally:
        again.send_signal(signal.SIGINT)
        again.communicate(timeout=240)


def test_up_starts_again_after_it_was_killed_and_leaves_no_orphans(tmp_path: Path) -> None:
    port = free_port()
    env = rehab_env(tmp_path / "home", port)
    first = subprocess.Popen(
        [sys.executable, "-m", "flows", "up"],
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    assert first.stdout is not None
    wait_for(
        lambda: "Press Ctrl-C" in first.stdout.readline(),
        timeout=180,
        what="`rehab up` to be up",
        every=0,
    )
    children = json.loads((tmp_path / "home" / "up.pids").read_text())
    assert len(children) == 3, "the server, the runner and the door"
    first.kill()  # SIGKILL to `rehab up` alone, as the OOM killer would
    first.wait()

    again = subprocess.Popen(
        [sys.executable, "-m", "flows", "up"],
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        assert again.stdout is not None
        lines: list[str] = []
        wait_for(
            lambda: (
                lines.append(again.stdout.readline())
                or "Press Ctrl-C" in lines[-1]
                or again.poll() is not None
            ),
            timeout=180,
            what="the second `rehab up`",
            every=0,
        )
        assert again.poll() is None, "".join(lines)
        assert httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=5).status_code == 200
        for pid in children:
            assert (
                not Path(f"/proc/{pid}").exists()
                or "zombie" in Path(f"/proc/{pid}/status").read_text()
            ), f"the first start's child {pid} ended"
    finally:
        again.send_signal(signal.SIGINT)
        rest = again.communicate(timeout=240)[0]
    assert "stopped." in rest
