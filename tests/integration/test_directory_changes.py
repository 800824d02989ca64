"""Roles are read from the directory as it is now (security.md rule 3): a long-lived engine
reads a changed directory file again, and each new version of a file is in the audit log once
(its digests, never its contents), on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import select

from casework.services.directory_log import record_directories
from casework.store.db import Store
from casework.store.tables import AuditRow
from flows.app import App
from flows.settings import Settings
from plans.errors import InvalidFile
from plans.loading import load_directories
from tests.conftest import EXAMPLES, T0


def changes(store: Store) -> list[dict[str, object]]:
    with store.session() as session:
        rows = session.scalars(
            select(AuditRow).where(AuditRow.action == "directory-changed").order_by(AuditRow.id)
        ).all()
        return [{"actor": r.actor, "case": r.case_code, **r.detail} for r in rows]


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    partners, staff = tmp_path / "partners.yaml", tmp_path / "staff.yaml"
    shutil.copy(EXAMPLES / "partners.yaml", partners)
    shutil.copy(EXAMPLES / "staff.yaml", staff)
    return partners, staff


def demote(staff: Path) -> None:
    """The operator demotes the example supervisor and names a new default supervisor."""
    text = staff.read_text(encoding="utf-8")
    text = text.replace("default_supervisor: l-istomova", "default_supervisor: a-kovalchuk")
    text = text.replace("role: supervisor", "role: case-manager")
    staff.write_text(
        text.replace(
            "  a-kovalchuk:\n    name: A. Kovalchuk (example case manager)\n    role: case-manager",
            "  a-kovalchuk:\n    name: A. Kovalchuk (example case manager)\n    role: supervisor",
        ),
        encoding="utf-8",
    )


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_each_new_version_of_a_directory_is_recorded_once_by_its_digests_never_its_contents(
    store: Store, files: tuple[Path, Path]
) -> None:
    partners, staff = files
    record_directories(store, load_directories(partners, staff), now=T0)
    record_directories(store, load_directories(partners, staff), now=T0)  # nothing new
    before = sha(staff)
    demote(staff)
    assert record_directories(store, load_directories(partners, staff), now=T0) == ["staff"]
    assert changes(store) == [
        {"actor": "operator", "case": None, "directory": "partners", "file": str(partners)}
        | {"old": None, "new": sha(partners)},
        {"actor": "operator", "case": None, "directory": "staff", "file": str(staff)}
        | {"old": None, "new": before},
        {"actor": "operator", "case": None, "directory": "staff", "file": str(staff)}
        | {"old": before, "new": sha(staff)},
    ]
    assert "Istomova" not in repr(changes(store)), "no name, role or address of the file"


def test_readers_that_see_a_change_at_the_same_moment_record_it_once(
    store: Store, files: tuple[Path, Path]
) -> None:
    partners, staff = files
    record_directories(store, load_directories(partners, staff), now=T0)
    demote(staff)
    changed = load_directories(partners, staff)
    with ThreadPoolExecutor(8) as pool:
        done = list(pool.map(lambda _: record_directories(store, changed, now=T0), range(8)))
    assert sorted(done) == [[]] * 7 + [["staff"]]
    before = sha(EXAMPLES / "staff.yaml")
    assert [c["old"] for c in changes(store) if c["directory"] == "staff"] == [None, before]


@pytest.fixture
def engine(store_url: str, tmp_path: Path, files: tuple[Path, Path]) -> Iterator[App]:
    partners, staff = files
    home = tmp_path / "home"
    settings = Settings(home=home, database_url=store_url, partners_file=partners, staff_file=staff)
    app = App(settings, clock=lambda: T0)
    yield app
    app.close()


def test_a_long_lived_engine_decides_by_the_directory_as_it_is_now_and_records_the_change(
    engine: App, files: tuple[Path, Path]
) -> None:
    _, staff = files
    assert engine.directories.staff.staff["l-istomova"].role == "supervisor"
    assert changes(engine.store) != [], "the first read with the store open is recorded"
    demote(staff)
    assert engine.directories.staff.staff["l-istomova"].role == "case-manager"
    assert engine.directories.staff.default_supervisor == "a-kovalchuk"
    staff_rows = [c for c in changes(engine.store) if c["directory"] == "staff"]
    assert [(c["old"], c["new"]) for c in staff_rows] == [
        (None, sha(EXAMPLES / "staff.yaml")),
        (sha(EXAMPLES / "staff.yaml"), sha(staff)),
    ]


def test_a_directory_edited_into_an_invalid_file_is_refused_not_decided_by_as_it_was(
    engine: App, files: tuple[Path, Path]
) -> None:
    _, staff = files
    assert engine.directories.staff.default_supervisor == "l-istomova"
    staff.write_text("default_supervisor: nobody\nstaff: {}\n", encoding="utf-8")
    with pytest.raises(InvalidFile, match="default_supervisor"):
        engine.directories  # noqa: B018  # reading it is the test
