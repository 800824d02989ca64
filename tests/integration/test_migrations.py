"""Every migration, run from an empty database on SQLite and PostgreSQL, gives the schema the
tables declare. The other tests start from a copy of a store migrated once (tests/conftest.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from casework.store import door_tables, partner_tables
from casework.store.db import MIGRATIONS, current_revision, head_revision, open_store
from casework.store.tables import Base


def test_every_migration_from_empty_reaches_the_head_and_the_tables_schema(
    empty_store_url: str, tmp_path: Path
) -> None:
    assert door_tables.StaffSessionRow.__table__.metadata is Base.metadata
    assert partner_tables.PartnerAnswerRow.__table__.metadata is Base.metadata
    for _ in range(2):  # the first open migrates; the second finds it done
        opened = open_store(empty_store_url, tmp_path / "secret.key")
        try:
            assert current_revision(opened.engine) == head_revision()
            with opened.engine.connect() as conn:
                differences = compare_metadata(MigrationContext.configure(conn), Base.metadata)
            assert differences == [], differences
        finally:
            opened.dispose()


def test_the_head_read_from_the_file_names_is_alembics_own() -> None:
    """`head_revision` reads the highest `NNNN_` file so a current store opens without Alembic;
    that holds while the migrations stay one numbered line, which Alembic's reading checks."""
    script = ScriptDirectory(str(MIGRATIONS))
    assert script.get_heads() == [head_revision()], "one line of migrations, numbered"
    for revision in script.walk_revisions():
        assert revision.path is not None
        assert Path(revision.path).name.startswith(f"{revision.revision}_")


def test_a_command_on_a_current_store_never_imports_alembic(tmp_path: Path) -> None:
    """Opening a store that is current costs no Alembic import (~0.5 s a process)."""
    url = f"sqlite:///{tmp_path / 'cases.db'}"
    open_store(url, tmp_path / "secret.key").dispose()  # migrated once
    probe = (
        "import sys; from pathlib import Path; from casework.store.db import open_store; "
        f"open_store({url!r}, Path({str(tmp_path / 'secret.key')!r})).dispose(); "
        "print(any(m == 'alembic' or m.startswith('alembic.') for m in sys.modules))"
    )
    ran = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert ran.stdout.strip() == "False"
