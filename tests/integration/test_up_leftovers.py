"""What an earlier `rehab up` left running when it was killed is ended by the next start, and
nothing else is touched."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from flows.processes import children
from flows.processes.children import end_leftovers


def process_group(home: Path | None) -> subprocess.Popen[bytes]:
    """A process leading its own group, as `rehab up` starts its children; with the PREFECT_HOME
    of `home` when it is one of that home's."""
    env = dict(os.environ)
    if home is not None:
        env["PREFECT_HOME"] = str(home / "prefect")
    # It ignores SIGTERM, as a runner draining its runs would for a while.
    return subprocess.Popen(
        ["sh", "-c", "trap '' TERM; sleep 600 & wait"], env=env, start_new_session=True
    )


def test_the_leftovers_of_the_same_home_are_ended_and_strangers_are_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Ours ignores SIGTERM, so it is ended by the SIGKILL after the grace: a short one will do.
    monkeypatch.setattr(children, "LEFTOVER_GRACE_SECONDS", 0.5)
    home = tmp_path / "home"
    home.mkdir()
    ours, stranger = process_group(home), process_group(None)
    elsewhere = process_group(tmp_path / "other-home")
    try:
        time.sleep(0.3)  # the shells are up
        (home / "up.pids").write_text(json.dumps([ours.pid, stranger.pid, elsewhere.pid]))
        assert end_leftovers(home) == [ours.pid]
        assert ours.wait(timeout=10) is not None
        assert stranger.poll() is None and elsewhere.poll() is None
        assert not (home / "up.pids").exists()
        assert end_leftovers(home) == [], "nothing to do the second time"
    finally:
        for proc in (ours, stranger, elsewhere):
            if proc.poll() is None:
                os.killpg(proc.pid, 9)
                proc.wait()
