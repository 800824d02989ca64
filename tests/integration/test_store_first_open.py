"""Processes that open a new case store at the same moment (`rehab up`'s runner and a first
command, say) all open it, and it ends with one secret key that fits its check value."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from casework.store.db import open_store
from tests.conftest import ROOT

OPENER = """
import sys, time
from pathlib import Path
from casework.store.db import open_store
go = Path(sys.argv[3])
print("ready", flush=True)
while not go.exists():
    time.sleep(0.001)
open_store(sys.argv[1], Path(sys.argv[2])).dispose()
print("opened")
"""


def test_processes_opening_a_new_store_at_once_all_open_it_with_one_key(tmp_path: Path) -> None:
    url, key, go = f"sqlite:///{tmp_path / 'cases.db'}", tmp_path / "secret.key", tmp_path / "go"
    openers = [
        subprocess.Popen(
            [sys.executable, "-c", OPENER, url, str(key), str(go)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    for opener in openers:  # each has imported what it needs and waits at the line
        assert opener.stdout is not None and opener.stdout.readline() == "ready\n"
    go.touch()
    results = [p.communicate(timeout=120) for p in openers]
    assert [out.strip() for out, _ in results] == ["opened"] * 4, [err for _, err in results]
    assert len(key.read_bytes().split()) == 1, "one key, not one per process"
    open_store(url, key).dispose()  # and it fits the store's check value
