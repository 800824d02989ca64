"""`rehab up --examples` as a newcomer meets it: the Runs page's saved views exist and find a
plan launched 30 days ago (the UI's default range would hide it), and the example plans'
messages arrive at the local mail catcher, where `rehab up` says to read them."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.harness import basic, free_port, start_up, wait_for
from tests.e2e.test_up import rehab_env

pytestmark = pytest.mark.e2e

VIEWS = {"living plans", "waiting on people", "needs attention"}


class Api:
    """The closed API as the UI calls it: the auth string, and a CSRF token for changes."""

    def __init__(self, port: int, auth: str) -> None:
        self.url, self.auth = f"http://127.0.0.1:{port}/api", {"Authorization": basic(auth)}
        token = httpx.get(
            f"{self.url}/csrf-token", params={"client": "e2e"}, headers=self.auth, timeout=10
        ).json()["token"]
        self.headers = self.auth | {"Prefect-Csrf-Token": token, "Prefect-Csrf-Client": "e2e"}

    def post(self, path: str, body: Any) -> Any:
        response = httpx.post(f"{self.url}{path}", json=body, headers=self.headers, timeout=30)
        response.raise_for_status()
        return response.json()


def runs_as_the_ui_lists_them(api: Api, view: dict[str, Any], now: datetime) -> set[str]:
    """The Runs page's query for a saved view: its tags (all of them), its date range on
    the runs' start (a view without one gets the UI's default, the past 7 days)."""
    tags = next(f["value"] for f in view["filters"] if f["property"] == "tag")
    ranges = [f["value"] for f in view["filters"] if f["property"] == "range"]
    if ranges:
        after, before = ranges[0]["startDate"], ranges[0]["endDate"]
    else:
        after, before = (now - timedelta(days=7)).isoformat(), now.isoformat()
    body = {
        "flow_runs": {"tags": {"all_": tags}, "start_time": {"after_": after, "before_": before}}
    }
    return {r["name"] for r in api.post("/flow_runs/filter", body)}


def age_run(prefect_db: Path, run_id: str, days: int) -> None:
    """Make a run look launched `days` ago, as if the engine had run that long."""
    then = (datetime.now(UTC) - timedelta(days=days)).strftime("%Y-%m-%d %H:%M:%S.%f")
    with sqlite3.connect(prefect_db, timeout=30) as db:
        db.execute(
            "UPDATE flow_run SET start_time = ?, expected_start_time = ? WHERE id = ?",
            (then, then, run_id.replace("-", "")),
        )
        changed = db.execute("SELECT changes()").fetchone()[0]
        if not changed:  # the id as text with dashes, depending on how the server stores it
            db.execute(
                "UPDATE flow_run SET start_time = ?, expected_start_time = ? WHERE id = ?",
                (then, then, run_id),
            )
            assert db.execute("SELECT changes()").fetchone()[0] == 1


def test_up_with_examples_makes_the_saved_views_and_catches_the_messages(tmp_path: Path) -> None:
    port, home = free_port(), tmp_path / "home"
    env = rehab_env(home, port)
    up, said = start_up(env, "--examples")
    try:
        assert "saved views in the Runs page (its filter menu): living plans" in said
        inbox = home / "mail"
        assert f"what partners and staff received: {inbox}" in said
        api = Api(port, (home / "prefect-auth").read_text().strip())

        # The supervisor is asked to approve each example plan, by mail, through the catcher.
        log = inbox / "received.log"
        wait_for(
            lambda: log.exists() and log.read_text().count("to director@ngo.example") >= 3,
            timeout=120,
            what="the example plans' approval requests at the mail catcher",
        )
        mails = sorted(inbox.glob("*.eml"))
        assert len(mails) >= 3
        assert all(p.stat().st_mode & 0o777 == 0o600 for p in [log, *mails])
        assert "BC-2026-0042" in log.read_text()
        assert "example.org" not in log.read_text()

        # The views exist once each, and a second start leaves them so.
        views = {v["name"]: v for v in api.post("/saved_searches/filter", {})}
        assert set(views) == VIEWS
        again = subprocess.run(
            [sys.executable, "-c", "from flows.prefect.views import ensure_views; ensure_views()"],
            env={
                **env,
                "PREFECT_API_URL": api.url,
                "PREFECT_API_AUTH_STRING": (home / "prefect-auth").read_text().strip(),
                "PREFECT_CLIENT_CSRF_SUPPORT_ENABLED": "true",
            },
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert again.returncode == 0, again.stderr
        assert len(api.post("/saved_searches/filter", {})) == len(VIEWS)

        # A plan launched 30 days ago: its view finds it; the UI's default range would not.
        status = subprocess.run(
            [sys.executable, "-m", "flows", "plan", "status", "BC-2026-0042", "--json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        ).stdout
        run_id = re.search(r'"flow_run_id": "([0-9a-f-]+)"', status)
        assert run_id is not None
        age_run(home / "prefect" / "prefect.db", run_id.group(1), days=30)
        now = datetime.now(UTC)
        living = runs_as_the_ui_lists_them(api, views["living plans"], now)
        assert "BC-2026-0042" in living
        assert {"BC-2026-0057", "BC-2026-0063"} <= living
        waiting = runs_as_the_ui_lists_them(api, views["waiting on people"], now)
        assert "BC-2026-0042" in waiting, "it waits for the supervisor's approval"
        default = {**views["living plans"], "filters": views["living plans"]["filters"][:1]}
        assert "BC-2026-0042" not in runs_as_the_ui_lists_them(api, default, now)
        assert runs_as_the_ui_lists_them(api, views["needs attention"], now) == set()

        # A newcomer's next commands, in a shell that names no port and no directories, use
        # what the engine uses, as `rehab up` recorded it: the directories' copies sending to
        # the catcher, and the server on its port.
        bare = {k: v for k, v in env.items() if k not in ("REHAB_PREFECT_PORT", "REHAB_PORT")}
        checked = subprocess.run(
            [sys.executable, "-m", "flows", "partners", "check"],
            env=bare,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert str(home / "example-directories" / "partners.yaml") in checked.stdout
        shown = subprocess.run(
            [sys.executable, "-m", "flows", "plan", "status", "BC-2026-0042"],
            env=bare,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        ).stdout
        door = f"http://127.0.0.1:{env['REHAB_PORT']}"
        assert f"{door}/runs/flow-run/{run_id.group(1)}" in shown, "the door's address"
    finally:
        if up.poll() is None:
            up.send_signal(signal.SIGINT)
            up.communicate(timeout=240)
    assert up.returncode == 0
    assert not any(
        f"PREFECT_HOME={home / 'prefect'}".encode() in _environ(pid)
        for pid in map(int, filter(str.isdigit, os.listdir("/proc")))
    ), "the mail catcher stopped with the rest"


def _environ(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return b""
