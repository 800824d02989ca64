"""The audit log is evidence (security.md rule 10): each row chained to the one before by an
HMAC under a key on the key mount, which also holds the chain's head, so a row changed, deleted,
inserted, back-dated or cut off the end behind the database's back is found, and named, even when
the rest is re-chained with plain SHA-256 and the database's head moved; on PostgreSQL the
engine's role may only add to it. SQLite and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from click.testing import CliRunner
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ProgrammingError

from casework.services import engine, plan_changes, recording
from casework.services.keys import rotate
from casework.store import audit_log, audit_verify
from casework.store.audit_chain import GENESIS, row_hash, row_mac
from casework.store.audit_rows import audit
from casework.store.db import Store, _alembic_config, make_sql_engine, open_store
from casework.store.errors import AuditKeyMissing, SecretKeyExposed
from casework.store.tables import AuditRow
from flows.cli import cli
from plans.directories import Directories
from plans.model import Plan
from tests.audit_tamper import (
    as_the_engine,
    behind_the_databases_back,
    insert_forged,
    last_row,
    move_head,
    rechain_with_sha256,
)
from tests.cli import Done, rehab
from tests.conftest import T0


@pytest.fixture
def logged(store: Store, example_plan: Plan, directories: Directories) -> list[int]:
    """A store with a few audit rows; their ids, in order."""
    plan_changes.launch(
        store, directories, plan=example_plan, by="n-zdolnik", now=T0, approval_required=True
    )
    recording.approve(store, directories, code=example_plan.case, by="l-istomova", now=T0)
    engine.reconcile(store, code=example_plan.case, now=T0)
    with store.session() as session:
        return list(session.scalars(select(AuditRow.id).order_by(AuditRow.id)))


def test_an_honest_log_verifies(store: Store, logged: list[int]) -> None:
    verdict = audit_log.verify(store)
    assert verdict.ok and verdict.rows == len(logged) >= 3


def test_a_changed_row_is_named(store: Store, logged: list[int]) -> None:
    target = logged[1]
    behind_the_databases_back(store, f"UPDATE audit_log SET actor = 'someone' WHERE id = {target}")
    verdict = audit_log.verify(store)
    assert (verdict.ok, verdict.broken_at) == (False, target)
    assert verdict.why == (
        f"row {target} was changed after it was written, or forged without the audit key"
    )


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
    assert not verdict.ok and verdict.why == (
        f"rows after row {logged[-3]} were deleted: the key mount's head is row {logged[-1]}"
    )


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
        plan_changes.launch(
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


# -- the chain under a key on the key mount (rule 10: someone who can write the database
# -- still cannot re-make the chain) ----------------------------------------------------


def cli_verify(store_url: str, tmp_path: Path) -> Done:
    """`rehab audit verify` as the operator runs it, on this store and its key mount."""
    home = tmp_path / "home"
    home.mkdir(mode=0o700, exist_ok=True)
    env = {
        "REHAB_HOME": str(home),
        "REHAB_DATABASE_URL": store_url,
        "REHAB_SECRET_KEY_FILE": str(tmp_path / "secret.key"),
    }
    return rehab(env, "audit", "verify")


def test_a_deleted_row_with_the_rest_re_chained_by_sha256_and_the_head_moved_is_named(
    store: Store, store_url: str, logged: list[int], tmp_path: Path
) -> None:
    behind_the_databases_back(store, f"DELETE FROM audit_log WHERE id = {logged[1]}")
    rechain_with_sha256(store, from_id=logged[2])
    store.dispose()
    verdict = cli_verify(store_url, tmp_path)
    assert verdict.returncode == 1, verdict.stdout
    assert f"row {logged[2]} carries a plain hash after the keyed chain began" in verdict.stderr
    assert "Traceback" not in verdict.stderr and len(verdict.stderr.strip().splitlines()) == 1


def test_a_log_re_made_from_its_first_row_by_sha256_is_named_at_that_row(
    store: Store, store_url: str, logged: list[int], tmp_path: Path
) -> None:
    behind_the_databases_back(store, f"DELETE FROM audit_log WHERE id = {logged[1]}")
    rechain_with_sha256(store)
    store.dispose()
    verdict = cli_verify(store_url, tmp_path)
    assert verdict.returncode == 1 and f"row {logged[0]} carries a plain hash" in verdict.stderr


def test_a_changed_actor_re_chained_by_sha256_is_named(store: Store, logged: list[int]) -> None:
    behind_the_databases_back(
        store, f"UPDATE audit_log SET actor = 'l-istomova' WHERE id = {logged[0]}"
    )
    rechain_with_sha256(store)
    verdict = audit_log.verify(store)
    assert (verdict.ok, verdict.broken_at) == (False, logged[0])


def test_an_inserted_row_dated_2011_is_named(
    store: Store, store_url: str, logged: list[int]
) -> None:
    last = last_row(store)
    forged = datetime(2011, 3, 1, 9, 0, tzinfo=UTC)
    with as_the_engine(store, store_url) as engine:
        legacy_like = insert_forged(engine, at=forged, key_id=None, prev=last.row_hash or "")
    verdict = audit_log.verify(store)
    assert (verdict.ok, verdict.broken_at) == (False, legacy_like)


def test_an_inserted_row_naming_the_audit_key_is_named(
    store: Store, store_url: str, logged: list[int]
) -> None:
    last = last_row(store)
    with as_the_engine(store, store_url) as engine:
        forged = insert_forged(engine, at=last.at, key_id=last.key_id, prev=last.row_hash or "")
    verdict = audit_log.verify(store)
    assert (verdict.broken_at, verdict.why) == (
        forged,
        f"row {forged} was changed after it was written, or forged without the audit key",
    )


def test_a_row_dated_before_its_predecessor_is_named_even_with_a_true_seal(
    store: Store, logged: list[int]
) -> None:
    last = last_row(store)
    key = store.audit.current()
    row = AuditRow(
        at=last.at - timedelta(days=1), case_code=None, actor="operator", action="x", detail={},
        note_sealed=None, prev_hash=last.row_hash, key_id=key.id,
    )  # fmt: skip
    row.row_hash = row_mac(key, row)  # as only someone holding the key mount could
    with store.session() as session:
        session.add(row)
    verdict = audit_log.verify(store)
    assert verdict.broken_at == row.id and verdict.why.endswith("it was back-dated")


def test_a_row_written_with_an_earlier_clock_takes_its_predecessors_time(
    store: Store, logged: list[int]
) -> None:
    before = last_row(store).at
    with store.session() as session:
        audit(session, sealer=store.sealer, case_code=None, actor="operator", action="late",
              now=before - timedelta(seconds=5))  # fmt: skip
    assert last_row(store).at == before and audit_log.verify(store).ok


def test_rows_cut_off_the_end_with_the_head_moved_stay_found_after_the_next_append(
    store: Store, logged: list[int]
) -> None:
    with store.session() as session:
        kept = session.scalars(select(AuditRow.row_hash).where(AuditRow.id == logged[-3])).one()
    behind_the_databases_back(store, f"DELETE FROM audit_log WHERE id >= {logged[-2]}")
    with store.engine.begin() as conn:
        move_head(conn, kept or "")
    cut = audit_log.verify(store)
    assert cut.why == (
        f"rows after row {logged[-3]} were deleted: the key mount's head is row {logged[-1]}"
    )
    with store.session() as session:
        audit(session, sealer=store.sealer, case_code=None, actor="operator", action="next",
              now=T0 + timedelta(hours=1))  # fmt: skip
    later = audit_log.verify(store)
    assert not later.ok and later.broken_at == last_row(store).id


def test_a_rotation_chains_new_rows_under_the_new_key_and_old_rows_still_verify(
    store: Store, logged: list[int]
) -> None:
    old = store.audit.current()
    rotate(store, now=T0 + timedelta(hours=1))
    with store.session() as session:
        audit(session, sealer=store.sealer, case_code=None, actor="operator", action="after",
              now=T0 + timedelta(hours=2))  # fmt: skip
        key_ids = list(session.scalars(select(AuditRow.key_id).order_by(AuditRow.id)))
    new = store.audit.current()
    assert new.id != old.id and set(store.audit.keys()) == {old.id, new.id}
    assert key_ids == [old.id] * len(logged) + [new.id, new.id]
    assert audit_log.verify(store).ok


def test_a_crash_between_the_commit_and_the_head_write_is_told_apart_from_tampering(
    store: Store, logged: list[int]
) -> None:
    head_file = store.audit.head_path
    before = head_file.read_bytes()
    with store.session() as session:
        for action in ("one", "two"):
            audit(session, sealer=store.sealer, case_code=None, actor="operator", action=action,
                  now=T0 + timedelta(hours=1))  # fmt: skip
    head_file.write_bytes(before)  # as if the process died before it wrote the head
    crashed = audit_log.verify(store)
    assert crashed.ok and crashed.behind == 2
    with store.session() as session:
        audit(session, sealer=store.sealer, case_code=None, actor="operator", action="three",
              now=T0 + timedelta(hours=1))  # fmt: skip
    head = store.audit.read_head()
    assert head is not None and head.last.id == last_row(store).id
    assert audit_log.verify(store) == audit_verify.Verdict(len(logged) + 3)


APPENDER = """
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from casework.store.db import open_store
from casework.store.audit_rows import audit
url, key, who, n = sys.argv[1], Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
store = open_store(url, key)
base = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
for i in range(n):
    with store.session() as session:
        for j in range(1 + i % 2):
            audit(session, sealer=store.sealer, case_code=None, actor=who, action="tried",
                  now=base + timedelta(seconds=(i * 7919) % 13), detail={"i": i, "j": j})
store.dispose()
"""


def test_concurrent_appends_from_two_processes_stay_one_chain(
    store: Store, store_url: str, logged: list[int], tmp_path: Path
) -> None:
    n = 30
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", APPENDER, store_url, str(tmp_path / "secret.key"), who, str(n)]
        )
        for who in ("writer-a", "writer-b")
    ]
    assert [w.wait(timeout=300) for w in writers] == [0, 0]
    verdict = audit_log.verify(store)
    assert verdict == audit_verify.Verdict(len(logged) + 2 * sum(1 + i % 2 for i in range(n)))
    head = store.audit.read_head()
    assert head is not None and head.last.id == last_row(store).id


def test_a_legacy_sha256_store_upgraded_still_verifies_and_then_continues_with_hmacs(
    empty_store_url: str, tmp_path: Path, example_plan: Plan, directories: Directories
) -> None:
    legacy_hashes = make_legacy_store(empty_store_url, rows=3)
    store = open_store(empty_store_url, tmp_path / "secret.key")
    try:
        head = store.audit.read_head()
        assert head is not None and head.start.mac == legacy_hashes[-1]
        assert audit_log.verify(store) == audit_verify.Verdict(3)
        plan_changes.launch(
            store, directories, plan=example_plan, by="n-zdolnik", now=T0, approval_required=True
        )
        with store.session() as session:
            rows = session.scalars(select(AuditRow).order_by(AuditRow.id)).all()
        assert [r.key_id for r in rows[:3]] == [None] * 3
        assert rows[3].prev_hash == legacy_hashes[-1] and rows[3].key_id == store.audit.current().id
        assert audit_log.verify(store).ok
        behind_the_databases_back(store, "UPDATE audit_log SET actor = 'someone' WHERE id = 2")
        rechain_with_sha256(store, from_id=2)
        assert audit_log.verify(store).broken_at == 3, "the key mount pins the SHA-256 part"
    finally:
        store.dispose()


def make_legacy_store(url: str, *, rows: int) -> list[str]:
    """A store as it stood before audit keys (migration 0009), with `rows` audit rows chained
    by SHA-256; their hashes."""
    engine = make_sql_engine(url)
    hashes, prev = [], GENESIS
    with engine.begin() as conn:
        config = _alembic_config()
        config.attributes["connection"] = conn
        command.upgrade(config, "0009")
        for k in range(rows):
            row = {"at": T0 + timedelta(minutes=k), "case_code": None, "actor": "operator",
                   "action": f"before-{k}", "detail": {}, "note_sealed": None}  # fmt: skip
            this = row_hash(prev, **row)
            conn.execute(AuditRow.__table__.insert().values(**row, prev_hash=prev, row_hash=this))
            hashes.append(prev := this)
        move_head(conn, prev)
    engine.dispose()
    return hashes


def test_a_store_chained_under_a_key_refuses_to_open_without_it_or_when_others_may_read_it(
    store: Store, store_url: str, logged: list[int], tmp_path: Path
) -> None:
    keys = store.audit.keys_path
    assert keys.stat().st_mode & 0o777 == 0o600
    assert store.audit.head_path.stat().st_mode & 0o777 == 0o600
    store.dispose()
    keys.chmod(0o640)
    with pytest.raises(SecretKeyExposed):
        open_store(store_url, tmp_path / "secret.key")
    keys.rename(keys.with_name("elsewhere"))
    with pytest.raises(AuditKeyMissing):
        open_store(store_url, tmp_path / "secret.key")
