"""The audit log is evidence (security.md rule 10): each row chained to the one before, so a
row changed, deleted or cut off the end behind the database's back is found, and named; on
PostgreSQL the engine's role may only add to it. SQLite and PostgreSQL."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ProgrammingError

from casework import audit_log, services
from casework.store.db import Store
from casework.store.tables import AuditRow
from flows.cli import cli
from plans.directories import Directories
from plans.model import Plan
from tests.conftest import T0


@pytest.fixture
def logged(store: Store, example_plan: Plan, directories: Directories) -> list[int]:
    """A store with a few audit rows; their ids, in order."""
    services.launch(
        store, directories, plan=example_plan, by="n-zdolnik", now=T0, approval_required=True
    )
    services.approve(store, directories, code=example_plan.case, by="l-istomova", now=T0)
    services.reconcile(store, code=example_plan.case, now=T0)
    with store.session() as session:
        return list(session.scalars(select(AuditRow.id).order_by(AuditRow.id)))


def behind_the_databases_back(store: Store, sql: str) -> None:
    """Change the log as someone with the database file (or a superuser) could: past the
    append-only triggers."""
    with store.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        else:
            conn.execute(text("DROP TRIGGER IF EXISTS audit_log_no_update"))
            conn.execute(text("DROP TRIGGER IF EXISTS audit_log_no_delete"))
        conn.execute(text(sql))


def test_an_honest_log_verifies(store: Store, logged: list[int]) -> None:
    verdict = audit_log.verify(store)
    assert verdict.ok and verdict.rows == len(logged) >= 3


def test_a_changed_row_is_named(store: Store, logged: list[int]) -> None:
    target = logged[1]
    behind_the_databases_back(store, f"UPDATE audit_log SET actor = 'someone' WHERE id = {target}")
    verdict = audit_log.verify(store)
    assert (verdict.ok, verdict.broken_at) == (False, target)
    assert verdict.why == f"row {target} was changed after it was written"


def test_a_deleted_row_is_named_by_the_row_after_it(store: Store, logged: list[int]) -> None:
    behind_the_databases_back(store, f"DELETE FROM audit_log WHERE id = {logged[1]}")
    verdict = audit_log.verify(store)
    assert verdict.broken_at == logged[2]
    assert verdict.why == (
        f"row {logged[2]} does not follow row {logged[0]}: a row before it was deleted or changed"
    )


def test_rows_cut_off_the_end_are_found(store: Store, logged: list[int]) -> None:
    behind_the_databases_back(store, f"DELETE FROM audit_log WHERE id >= {logged[-2]}")
    verdict = audit_log.verify(store)
    assert not verdict.ok and verdict.why == f"rows after row {logged[-3]} were deleted"


def test_audit_verify_and_show_on_the_command_line(
    tmp_path: Path, example_plan: Plan, directories: Directories
) -> None:
    env = {"REHAB_HOME": str(tmp_path / "home")}
    saved = dict(os.environ)
    try:
        runner = CliRunner()
        assert runner.invoke(cli, ["db", "upgrade"], env=env).exit_code == 0
        from casework.store.db import open_store  # noqa: PLC0415  # after the home exists

        store = open_store(
            f"sqlite:///{tmp_path / 'home' / 'cases.db'}", tmp_path / "home" / "secret.key"
        )
        services.launch(
            store, directories, plan=example_plan, by="n-zdolnik", now=T0, approval_required=True
        )
        store.dispose()
        intact = runner.invoke(cli, ["audit", "verify"], env=env)
        shown = runner.invoke(cli, ["audit", "show", example_plan.case, "--json"], env=env)
        store = open_store(
            f"sqlite:///{tmp_path / 'home' / 'cases.db'}", tmp_path / "home" / "secret.key"
        )
        behind_the_databases_back(store, "UPDATE audit_log SET action = 'nothing' WHERE id = 1")
        store.dispose()
        broken = runner.invoke(cli, ["audit", "verify"], env=env)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    assert intact.exit_code == 0 and "audit log intact" in intact.stdout
    rows = __import__("json").loads(shown.stdout)
    assert [r["action"] for r in rows][:1] == ["launch"] and rows[0]["actor"] == "n-zdolnik"
    assert broken.exit_code == 1 and "row 1 was changed" in broken.stderr


@pytest.mark.postgresql
def test_the_engines_postgresql_role_may_add_to_the_log_but_not_change_it(
    fresh_postgres: str, tmp_path: Path
) -> None:
    from casework.store.db import open_store  # noqa: PLC0415  # migrates: makes the role

    open_store(fresh_postgres, tmp_path / "secret.key").dispose()
    admin = create_engine(fresh_postgres, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = 'rehab_engine_test'"))
        if exists.scalar() is None:
            conn.execute(text("CREATE ROLE rehab_engine_test LOGIN IN ROLE rehab_engine"))
    admin.dispose()
    as_engine = create_engine(make_url(fresh_postgres).set(username="rehab_engine_test"))
    try:
        with as_engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO audit_log (at, actor, action, detail) "
                    "VALUES (now(), 'engine', 'tried', '{}')"
                )
            )
        for sql in (
            "UPDATE audit_log SET actor = 'x'",
            "DELETE FROM audit_log",
            "TRUNCATE audit_log",
        ):
            with (
                pytest.raises(ProgrammingError, match="permission denied"),
                as_engine.begin() as conn,
            ):
                conn.execute(text(sql))
    finally:
        as_engine.dispose()
