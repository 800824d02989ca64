"""`rehab auth rotate` while `rehab up` runs: Prefect gets a new auth string, the server, the
runner and the door restart with it, the old string opens nothing, and the engine goes on."""

from __future__ import annotations

import signal
from pathlib import Path

import httpx
import pytest

from tests.e2e.harness import basic, free_port, start_up
from tests.e2e.test_up import PLAN, rehab, rehab_env

pytestmark = pytest.mark.e2e


def test_a_rotation_while_up_runs_retires_the_old_string_and_the_engine_goes_on(
    tmp_path: Path,
) -> None:
    port = free_port()
    env = rehab_env(tmp_path / "home", port)
    up, _ = start_up(env)
    try:
        auth = tmp_path / "home" / "prefect-auth"
        old = auth.read_text().strip()
        version = f"http://127.0.0.1:{port}/api/admin/version"
        assert httpx.get(version, headers={"Authorization": basic(old)}, timeout=10).is_success

        rotated = rehab(env, "auth", "rotate")
        assert rotated.returncode == 0, rotated.stderr
        assert "restarted" in rotated.stdout
        new = auth.read_text().strip()
        assert new != old and auth.stat().st_mode & 0o777 == 0o600
        assert new not in rotated.stdout + rotated.stderr, "never shown"
        refused = httpx.get(version, headers={"Authorization": basic(old)}, timeout=10)
        assert refused.status_code == 401, "the old string opens nothing"
        assert httpx.get(version, headers={"Authorization": basic(new)}, timeout=10).is_success
        door = f"http://127.0.0.1:{env['REHAB_PORT']}"
        assert httpx.get(f"{door}/health", timeout=10).json() == {"status": "up"}

        plan = tmp_path / "plan.yaml"
        plan.write_text(PLAN)
        launched = rehab(env, "plan", "launch", str(plan))
        assert launched.returncode == 0, launched.stderr
        audit = rehab(env, "audit", "verify")
        assert audit.returncode == 0, audit.stdout + audit.stderr
        up.send_signal(signal.SIGINT)
        rest = up.communicate(timeout=240)[0]
        assert "auth string renewed" in rest and "stopped." in rest
    finally:
        if up.poll() is None:
            up.kill()


def test_a_rotation_of_a_server_rehab_did_not_start_is_refused(tmp_path: Path) -> None:
    env = {**rehab_env(tmp_path / "home", free_port()), "PREFECT_API_URL": "http://127.0.0.1:9/api"}
    refused = rehab(env, "auth", "rotate")
    assert refused.returncode == 1
    assert "PREFECT_API_AUTH_STRING" in refused.stderr and "Traceback" not in refused.stderr
