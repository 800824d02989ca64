"""`rehab key rotate` while `rehab up` runs and plans are being launched: afterwards every
case opens with the new key alone, the running door checks staff codes sealed under it, the
audit log still verifies (the old audit key kept beside the new), and the old key alone is
refused."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pyotp
import pytest

from casework.store.crypto import write_keys
from tests.cli import rehab as in_process
from tests.e2e.harness import (
    PASSWORD,
    PrefectServer,
    form_nonce,
    free_port,
    start_up,
    ui_csrf,
    wait_for,
)
from tests.e2e.test_up import rehab, rehab_env

pytestmark = pytest.mark.e2e

PLAN = """
case: {code}
manager: n-zdolnik
person: {{name: "Alesia Rotova {n}", contact: "alesia{n}@example.org"}}
steps:
  - {{id: stay, domain: housing, title: Crisis room, partner: brest-crisis-room, duration: 1h}}
"""
NAME = "Alesia Rotova {n}"


def launch(env: dict[str, str], home: Path, n: int) -> subprocess.Popen[str]:
    plan = home / f"rot-{n}.yaml"
    plan.write_text(PLAN.format(code=f"E2E-ROT-{n}", n=n))
    return subprocess.Popen(
        [sys.executable, "-m", "flows", "plan", "launch", str(plan)],
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def approval_form(server: PrefectServer, auth: str, code: str) -> str:
    def find() -> str | None:
        runs = server.call("POST", "/flow_runs/filter", {}, auth=auth).json()
        for run in runs:
            if run["name"] == f"{code} · approval" and run["state"]["type"] == "PAUSED":
                return str(run["id"])
        return None

    return wait_for(find, timeout=120, what=f"{code}'s approval form")


def test_rotation_while_the_engine_runs_keeps_every_case_open_with_the_new_key_alone(
    tmp_path: Path,
) -> None:
    home, port = tmp_path / "home", free_port()
    env = rehab_env(home, port)
    up, _ = start_up(env)
    try:
        enrolled = json.loads(rehab(env, "staff", "enrol", "l-istomova", "--json").stdout)
        for n in (1, 2, 3):
            assert launch(env, home, n).wait(timeout=120) == 0
        old_key = (home / "secret.key").read_bytes().strip()

        # Launches racing the rotation: some read the old key before it began.
        racing = [launch(env, home, n) for n in (4, 5, 6)]
        rotated = rehab(env, "key", "rotate", "--json")
        assert [p.wait(timeout=120) for p in racing] == [0, 0, 0]
        assert rotated.returncode == 0, rotated.stderr
        assert json.loads(rotated.stdout)["old_key_kept"] == 0
        assert len((home / "secret.key").read_bytes().split()) == 1, "the old key is retired"

        for n in range(1, 7):
            shown = rehab(
                env, "person", "show", f"E2E-ROT-{n}", "--reason", "-", "--json", stdin="rotation"
            )
            assert shown.returncode == 0, shown.stderr
            assert json.loads(shown.stdout)["person"]["name"] == NAME.format(n=n)

        # The running door, which read the old key at its start, checks a staff code sealed
        # under the new one at sign-in, and her approval goes through.
        door = f"http://127.0.0.1:{env['REHAB_PORT']}"
        browser = httpx.Client(base_url=door, timeout=120)
        invite = enrolled["invite"].removeprefix(door)
        page = browser.get(invite)
        assert (
            browser.post(
                invite, data={"form": form_nonce(page.text), "password": PASSWORD}
            ).status_code
            == 303
        )
        page = browser.get("/sign-in")
        signed = browser.post(
            "/sign-in",
            data={
                "form": form_nonce(page.text),
                "staff": "l-istomova",
                "password": PASSWORD,
                "code": pyotp.parse_uri(enrolled["uri"]).now(),
            },
        )
        assert signed.status_code == 303, signed.text
        auth = (home / "prefect-auth").read_text().strip()
        server = PrefectServer(home / "unused", port)
        run_id = approval_form(server, auth, "E2E-ROT-1")
        resumed = browser.post(
            f"/api/flow_runs/{run_id}/resume", json={"run_input": {}}, headers=ui_csrf(browser)
        )
        assert resumed.status_code == 200, resumed.text
        wait_for(
            lambda: (
                json.loads(in_process(env, "plan", "status", "E2E-ROT-1", "--json").stdout)["state"]
                == "active"
            ),
            timeout=90,
            what="the approval checked by the running engine",
        )
        # The audit rows the running engine wrote after the rotation are chained under the new
        # audit key; the old one stays beside it, so the rows before still verify.
        verified = rehab(env, "audit", "verify")
        assert verified.returncode == 0 and "audit log intact" in verified.stdout, verified.stderr
        assert len((home / "secret.key.audit-keys").read_text().split()) == 2

        stale = tmp_path / "old.key"
        write_keys(stale, [old_key])
        refused = rehab({**env, "REHAB_SECRET_KEY_FILE": str(stale)}, "plan", "list")
        assert refused.returncode == 1
        assert "not the key this case store was sealed with" in refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1
    finally:
        up.send_signal(signal.SIGINT)
        up.communicate(timeout=240)
