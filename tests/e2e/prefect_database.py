"""Prefect's own SQLite database for the tests' own servers, migrated once per session: the
first new server migrates an empty file as always (over 20 s to answer on two busy cores), and
a copy of its database, taken as soon as it answers and before any test has used it, starts
every later new server (about 10 s). `rehab up` makes its own server's database as always."""

from __future__ import annotations

import atexit
import shutil
import sqlite3
import tempfile
from pathlib import Path

_migrated: dict[str, Path] = {}  # "prefect.db": the copy, once the first server has answered


def seed(home: Path) -> None:
    """Put the migrated copy, once there is one, in a new server's home."""
    if "prefect.db" in _migrated:
        shutil.copyfile(_migrated["prefect.db"], home / "prefect.db")


def keep(home: Path) -> None:
    """Copy a new server's database, which holds only what migrating and starting wrote, for
    the servers after it. SQLite's backup is one consistent snapshot while the server runs."""
    if "prefect.db" in _migrated:
        return
    folder = Path(tempfile.mkdtemp(prefix="prefect-migrated-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    source, copy = sqlite3.connect(home / "prefect.db"), sqlite3.connect(folder / "prefect.db")
    try:
        source.backup(copy)
    finally:
        copy.close()
        source.close()
    _migrated["prefect.db"] = folder / "prefect.db"
