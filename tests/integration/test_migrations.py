"""Every migration, run from an empty database on SQLite and PostgreSQL, gives the schema the
tables declare. The other tests start from a copy of a store migrated once (tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from casework.store import door_tables
from casework.store.db import current_revision, head_revision, open_store
from casework.store.tables import Base


def test_every_migration_from_empty_reaches_the_head_and_the_tables_schema(
    empty_store_url: str, tmp_path: Path
) -> None:
    assert door_tables.StaffSessionRow.__table__.metadata is Base.metadata
    for _ in range(2):  # the first open migrates; the second finds it done
        opened = open_store(empty_store_url, tmp_path / "secret.key")
        try:
            assert current_revision(opened.engine) == head_revision()
            with opened.engine.connect() as conn:
                differences = compare_metadata(MigrationContext.configure(conn), Base.metadata)
            assert differences == [], differences
        finally:
            opened.dispose()
