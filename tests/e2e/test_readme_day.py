"""The README's "A case manager's day" runs top to bottom as written, after `make up` (`rehab up
--examples`): each command of its fenced block, in order, exits 0, with `rehab` the CLI."""

from __future__ import annotations

import json
import re
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.e2e.harness import free_port, start_up
from tests.e2e.test_up import rehab_env

pytestmark = pytest.mark.e2e


def the_day() -> list[str]:
    """The commands of the README's day, as a reader copies them."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## A case manager's day", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block is not None, "the day is a fenced sh block"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_the_days_block_holds_only_what_runs_no_placeholder() -> None:
    placeholder = r"\[--|\[[A-Z]|\b(CODE|STAFF|FILE|NAME|DIRECTOR)\b|\([-a-z]+ \|"
    for line in the_day():
        assert line.startswith(("rehab ", "printf ")), line
        command = line.split("|")[-1] if line.startswith("printf ") else line
        assert not re.search(placeholder, command), line


def test_the_readmes_day_runs_top_to_bottom_after_make_up(tmp_path: Path) -> None:
    port, home = free_port(), tmp_path / "home"
    env = rehab_env(home, port)
    up, _ = start_up(env, "--examples")
    workdir = tmp_path / "day"
    workdir.mkdir()
    cli = f"{shlex.quote(sys.executable)} -m flows"
    try:
        last = ""
        for line in the_day():
            done = subprocess.run(
                ["bash", "-c", f'rehab() {{ {cli} "$@"; }}\nset -o pipefail\n{line}'],
                cwd=workdir,
                env=env,
                capture_output=True,
                text=True,
                timeout=180,
                check=False,
            )
            assert done.returncode == 0, f"{line}\n{done.stdout}\n{done.stderr}"
            last = done.stdout
        status = json.loads(last)
        assert status["case"] == "BC-2026-0100" and status["state"] == "cancelled"
        steps = {s["id"]: s["state"] for s in status["steps"]}
        assert steps["hygiene-kit"] == "completed"
    finally:
        if up.poll() is None:
            up.send_signal(signal.SIGINT)
            up.communicate(timeout=240)
