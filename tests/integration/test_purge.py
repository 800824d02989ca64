"""Erasure (security.md rule 9): a director's order or the retention period destroys a closed
case's person, notes and data key in the store, withdraws its messages, deletes its Prefect
runs, and leaves a tombstone in the audit log; the code is never launched again."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.engine import make_url

from casework.domain.errors import CaseStillOpen, NotAllowed
from casework.services import engine, plan_changes, recording
from casework.services.person import store_person
from casework.store import audit_log
from casework.store.db import open_store
from casework.store.errors import CaseKeyDestroyed, CasePurged
from casework.store.repository import find_case_row, read_person
from casework.store.tables import AuditRow, OutboxRow
from flows import erasing
from flows.app import App
from flows.prefect.fake import RecordingPrefect
from flows.settings import Settings
from plans.directories import Directories, StaffDirectory
from plans.model import Person, Plan
from tests.conftest import EXAMPLES, T0
from tests.e2e.harness import wait_for

SHE = Person.model_validate({"name": "Olga Sidorova", "contact": "olga.s@mail.example"})
HE = Person.model_validate({"name": "Pavel Novik", "contact": "pavel.n@mail.example"})


class Clock:
    def __init__(self) -> None:
        self.at = T0

    def __call__(self):  # type: ignore[no-untyped-def]  # a paper clock
        return self.at


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app(tmp_path: Path, store_url: str, clock: Clock) -> Iterator[App]:
    staff = (EXAMPLES / "staff.yaml").read_text() + (
        "  d-director: {name: Director, role: director}\nretention: 30d\n"
    )
    (tmp_path / "staff.yaml").write_text(staff)
    settings = Settings(home=tmp_path, database_url=store_url, staff_file=tmp_path / "staff.yaml")
    engine = App(settings, prefect=RecordingPrefect(), clock=clock)
    yield engine
    engine.close()


def launched(app: App, plan: Plan, code: str, person: Person) -> None:
    p = plan.model_copy(update={"case": code, "person": None})
    plan_changes.launch(
        app.store, app.directories, plan=p, by="n-zdolnik", now=app.now(), approval_required=False
    )
    app.prefect.start_plan_run(code, 1, [])
    store_person(app.store, app.directories, code=code, person=person, by=None, now=app.now())
    recording.record_consent(
        app.store,
        app.directories,
        code=code,
        scopes=["medical"],
        status="given",
        by="n-zdolnik",
        now=app.now(),
        note="agreed at the crisis room",
    )


def ended(app: App, code: str) -> None:
    recording.withdraw_all(app.store, app.directories, code=code, by="n-zdolnik", now=app.now())


def test_a_directors_purge_erases_the_case_and_leaves_a_tombstone(
    app: App, example_plan: Plan
) -> None:
    launched(app, example_plan, "BC-GONE-1", SHE)
    launched(app, example_plan, "BC-KEPT-1", HE)
    ended(app, "BC-GONE-1")
    prefect = app.prefect
    assert isinstance(prefect, RecordingPrefect)
    with pytest.raises(NotAllowed, match="a director may"):
        erasing.purge_case(app, "BC-GONE-1", reason="she asked", by="l-istomova")
    assert (
        erasing.purge_case(app, "BC-GONE-1", reason="she asked to be erased", by="d-director") == 1
    )
    assert prefect.called("delete_case") == ["BC-GONE-1"]
    assert "run-BC-GONE-1-1" not in prefect.runs and "run-BC-KEPT-1-1" in prefect.runs
    with app.store.session() as session:
        row = find_case_row(session, code="BC-GONE-1")
        assert row is not None and row.person_sealed is None
        assert not app.store.sealer.has_case_key("BC-GONE-1")
        assert all(c.note_sealed is None for c in row.consents)
        pending = session.scalars(
            select(OutboxRow.status).where(
                OutboxRow.case_code == "BC-GONE-1", OutboxRow.status == "pending"
            )
        ).all()
        [tomb] = session.scalars(select(AuditRow).where(AuditRow.action == "case-purged")).all()
    assert pending == []
    assert (tomb.case_code, tomb.actor, tomb.detail["reason"]) == (
        "BC-GONE-1",
        "d-director",
        "she asked to be erased",
    )
    assert audit_log.verify(app.store).ok
    with pytest.raises(CasePurged):
        plan_changes.launch(
            app.store,
            app.directories,
            plan=example_plan.model_copy(update={"case": "BC-GONE-1", "person": None}),
            by="n-zdolnik",
            now=app.now(),
            approval_required=False,
        )
    with app.store.session() as session:  # the other case is untouched
        assert read_person(app.store.sealer, find_case_row(session, code="BC-KEPT-1")) == HE


@contextmanager
def copy_of(url: str) -> Iterator[str]:
    """A copy of the whole database, as a backup taken now would hold it."""
    if url.startswith("sqlite"):
        path = Path(make_url(url).database or "")
        copy = path.with_name("backup.db")
        with sqlite3.connect(path) as src, sqlite3.connect(copy) as dst:
            src.backup(dst)
        yield f"sqlite:///{copy}"
        return
    name = f"{make_url(url).database}_backup"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{make_url(url).database}"'))
    admin.dispose()
    try:
        yield make_url(url).set(database=name).render_as_string(hide_password=False)
    finally:
        admin = create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_a_backup_taken_before_a_purge_no_longer_opens_that_case_but_opens_the_others(
    app: App, example_plan: Plan, store_url: str
) -> None:
    launched(app, example_plan, "BC-GONE-2", SHE)
    launched(app, example_plan, "BC-KEPT-2", HE)
    ended(app, "BC-GONE-2")
    [gone_key] = [ln for ln in keyring(app) if b"/BC-GONE-2 " in ln]
    app.store.dispose()  # PostgreSQL copies a database no one is connected to
    with copy_of(store_url) as backup_url:
        erasing.purge_case(app, "BC-GONE-2", reason="she asked to be erased", by="d-director")
        assert gone_key.split()[1] not in app.store.sealer.keyring.path.read_bytes()
        backup = open_store(backup_url, app.settings.key_file)
        try:
            with backup.session() as session:
                row = find_case_row(session, code="BC-GONE-2")
                assert row is not None and row.person_sealed is not None, "the copy holds it"
                with pytest.raises(CaseKeyDestroyed, match="BC-GONE-2 was purged"):
                    read_person(backup.sealer, row)
                [note] = [c.note_sealed for c in row.consents if c.note_sealed]
                with pytest.raises(CaseKeyDestroyed):
                    backup.sealer.open(note, case="BC-GONE-2")
                assert read_person(backup.sealer, find_case_row(session, code="BC-KEPT-2")) == HE
        finally:
            backup.dispose()


def keyring(app: App) -> list[bytes]:
    return app.store.sealer.keyring.path.read_bytes().splitlines()


def test_a_purge_cut_short_before_the_key_was_destroyed_is_finished_when_the_store_opens(
    app: App, example_plan: Plan, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    launched(app, example_plan, "BC-GONE-3", SHE)
    ended(app, "BC-GONE-3")
    monkeypatch.setattr(app.store.sealer, "destroy_case_keys", lambda codes: 0)  # the crash
    erasing.purge_case(app, "BC-GONE-3", reason="she asked to be erased", by="d-director")
    assert app.store.sealer.has_case_key("BC-GONE-3")
    monkeypatch.undo()
    reopened = open_store(store_url, app.settings.key_file)
    try:
        assert not reopened.sealer.has_case_key("BC-GONE-3")
        assert any(ln.endswith(b"/BC-GONE-3 -") for ln in keyring(app))
    finally:
        reopened.dispose()


def test_an_open_case_is_not_purged(app: App, example_plan: Plan) -> None:
    launched(app, example_plan, "BC-OPEN-1", SHE)
    with pytest.raises(CaseStillOpen, match="end it first"):
        erasing.purge_case(app, "BC-OPEN-1", reason="asked", by="d-director")


def test_the_clock_purges_closed_cases_past_retention_and_no_others(
    app: App, example_plan: Plan, clock: Clock
) -> None:
    launched(app, example_plan, "BC-OLD-1", SHE)
    launched(app, example_plan, "BC-LIVE-1", HE)
    ended(app, "BC-OLD-1")
    clock.at = T0 + timedelta(days=29)
    assert erasing.purge_past_retention(app) == []
    clock.at = T0 + timedelta(days=31)
    assert erasing.purge_past_retention(app) == ["BC-OLD-1"]
    assert erasing.purge_past_retention(app) == [], "once"
    with app.store.session() as session:
        [tomb] = session.scalars(select(AuditRow).where(AuditRow.action == "case-purged")).all()
    assert tomb.actor == "retention" and "30" in tomb.detail["reason"]


def test_a_retention_period_is_part_of_the_staff_directory(directories: Directories) -> None:
    staff = StaffDirectory.model_validate({**directories.staff.model_dump(), "retention": "1825d"})
    assert staff.retention == timedelta(days=1825)


def test_what_an_ending_run_publishes_after_the_purge_is_swept_by_the_clock(
    app: App, example_plan: Plan, clock: Clock
) -> None:
    launched(app, example_plan, "BC-GONE-4", SHE)
    ended(app, "BC-GONE-4")
    erasing.purge_case(app, "BC-GONE-4", reason="she asked to be erased", by="d-director")
    prefect = app.prefect
    assert isinstance(prefect, RecordingPrefect)
    prefect.start_plan_run("BC-GONE-4", 1, [])  # the run that was ending, published again
    assert erasing.sweep_after_purges(app) == 1
    assert not any(name == "BC-GONE-4" for name in prefect.runs.values())
    clock.at += erasing.PURGE_FOLLOW_UP + timedelta(seconds=1)
    prefect.start_plan_run("BC-GONE-4", 1, [])
    assert erasing.sweep_after_purges(app) == 0, "an hour on, the clock stops looking"


# Step titles no other case has: whatever of them is left anywhere is this case's.
TITLES = ["Quokka-shelter-stay-7731", "Wombat-clinic-visit-7732", "Numbat-counselling-7733"]


def distinct_plan(plan: Plan) -> Plan:
    steps = [s.model_copy(update={"title": t}) for s, t in zip(plan.steps, TITLES, strict=False)]
    return plan.model_copy(update={"steps": steps + list(plan.steps[len(TITLES) :])})


def lived(app: App, plan: Plan, code: str, clock: Clock) -> None:
    """A case that launched, started steps, queued messages, and ended."""
    launched(app, distinct_plan(plan), code, SHE)
    clock.at = T0 + timedelta(days=3)
    engine.reconcile(app.store, code=code, now=app.now())
    ended(app, code)


def every_row(url: str, *, but: tuple[str, ...] = ()) -> dict[str, str]:
    """Each table of the store (those in `but` left out) as the text of all its rows."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {
                table: " ".join(
                    str(tuple(r)) for r in conn.execute(text(f'SELECT * FROM "{table}"'))
                )
                for table in inspect(engine).get_table_names()
                if table not in but
            }
    finally:
        engine.dispose()


def test_a_purge_leaves_of_the_case_only_its_tombstone_and_audit_rows(
    app: App, example_plan: Plan, store_url: str, clock: Clock
) -> None:
    lived(app, example_plan, "BC-ERASED-5", clock)
    lived(app, example_plan, "BC-STAYS-5", clock)  # the same titles, in a case that stays
    with app.store.session() as session:
        gone_id = find_case_row(session, code="BC-ERASED-5").id  # type: ignore[union-attr]
    before = every_row(store_url, but=("audit_log",))
    assert sum("BC-ERASED-5" in rows for rows in before.values()) >= 2, "the case had rows"
    on_postgres = store_url.startswith("postgresql")
    if on_postgres:
        assert pages_holding(store_url, TITLES[0]), "the pages held the titles"

    erasing.purge_case(app, "BC-ERASED-5", reason="she asked to be erased", by="d-director")

    after = every_row(store_url, but=("cases", "audit_log"))
    assert [t for t, rows in after.items() if "BC-ERASED-5" in rows] == []
    engine = create_engine(store_url)
    try:
        with engine.connect() as conn:
            for table in ("plan_revisions", "steps", "consents", "decisions", "imported_cases"):
                held = conn.execute(
                    text(f"SELECT count(*) FROM {table} WHERE case_id = :id"), {"id": gone_id}
                ).scalar()
                assert held == 0, table
            tomb = (
                conn.execute(text("SELECT * FROM cases WHERE code = 'BC-ERASED-5'")).one()._asdict()
            )
            audit_text = " ".join(
                str(r) for r in conn.execute(text("SELECT detail FROM audit_log"))
            )
            kept = conn.execute(text("SELECT count(*) FROM plan_revisions")).scalar()
    finally:
        engine.dispose()
    assert kept, "the other case keeps its plan"
    if on_postgres:  # the titles are the other case's too: delete its plan, then read
        engine = create_engine(store_url)
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM plan_revisions"))
        engine.dispose()
        # A transaction older than the delete (anywhere on the server) keeps its rows for a
        # while: compacted again, as the clock's follow-up does.
        wait_for(
            lambda: (
                app.store.compact(["plan_revisions"]) or not pages_holding(store_url, TITLES[0])
            ),
            timeout=60,
            what="the rewritten pages without the titles",
        )
    assert tomb["person_sealed"] is None and tomb["flow_run_id"] is None
    assert not any(t in str(tomb) or t in audit_text for t in TITLES)


def test_a_purged_case_still_counts_in_the_programme_report(
    app: App, example_plan: Plan, clock: Clock
) -> None:
    from casework.store.report_source import read_people  # noqa: PLC0415

    lived(app, example_plan, "BC-COUNTED-6", clock)
    before = read_people(app.store, app.directories, tz="Europe/Minsk")
    assert before[0].steps and before[0].consents, "there is history to count"
    erasing.purge_case(app, "BC-COUNTED-6", reason="she asked to be erased", by="d-director")
    assert read_people(app.store, app.directories, tz="Europe/Minsk") == before


def pages_holding(url: str, needle: str) -> list[str]:
    """The PostgreSQL relations (tables, indexes, TOAST) of the store whose pages hold
    `needle`, read raw, dead rows and free space included (pageinspect)."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS pageinspect"))
            relations = conn.execute(
                text(
                    "SELECT c.oid::regclass::text, pg_relation_size(c.oid) / 8192 FROM pg_class c"
                    " JOIN pg_namespace n ON n.oid = c.relnamespace"
                    " WHERE c.relkind IN ('r', 't', 'i') AND n.nspname IN ('public', 'pg_toast')"
                    " AND (n.nspname = 'public' OR c.oid IN (SELECT reltoastrelid FROM pg_class"
                    " JOIN pg_namespace p ON p.oid = relnamespace WHERE p.nspname = 'public'))"
                )
            ).all()
            return [
                name
                for name, blocks in relations
                if any(
                    conn.execute(
                        text("SELECT position(:n IN get_raw_page(:r, CAST(:b AS int)))"),
                        {"n": needle.encode(), "r": name, "b": block},
                    ).scalar()
                    for block in range(blocks)
                )
            ]
    finally:
        engine.dispose()


def file_bytes(home: Path) -> dict[str, bytes]:
    return {str(p.relative_to(home)): p.read_bytes() for p in home.rglob("*") if p.is_file()}


def test_on_sqlite_no_byte_of_a_purged_case_is_left_in_the_store_files_but_its_tombstone(
    tmp_path: Path, example_plan: Plan, clock: Clock
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    staff = (EXAMPLES / "staff.yaml").read_text() + "  d-director: {name: D, role: director}\n"
    (home / "staff.yaml").write_text(staff)
    settings = Settings(
        home=home, database_url=f"sqlite:///{home / 'cases.db'}", staff_file=home / "staff.yaml"
    )
    app = App(settings, prefect=RecordingPrefect(), clock=clock)
    try:
        lived(app, example_plan, "BC-BYTES-7", clock)
        seen = b"".join(file_bytes(home).values())
        assert TITLES[0].encode() in seen and b"BC-BYTES-7" in seen, "the files held them"
        erasing.purge_case(app, "BC-BYTES-7", reason="she asked to be erased", by="d-director")
        files = file_bytes(home)  # the store still open, as a running engine holds it
    finally:
        app.close()
    for name, data in files.items():
        for title in TITLES:
            assert title.encode() not in data, f"{title} in {name}"
    for name, data in files.items():  # the keyring keeps a tombstone line, the key gone
        if name not in ("cases.db", "cases.db-wal", "secret.key.case-keys"):
            assert b"BC-BYTES-7" not in data and b"bc-bytes-7" not in data, name
    assert b"/BC-BYTES-7 -\n" in files["secret.key.case-keys"]
    assert not files.get("cases.db-wal"), "the WAL is emptied after a purge"
    assert not names_beyond_its_tombstone(files["cases.db"], "BC-BYTES-7", tmp_path)


def names_beyond_its_tombstone(store_file: bytes, code: str, tmp: Path) -> bool:
    """True if a case store's file names `code` (in any case) anywhere but in the case's
    tombstone and its audit rows: these are taken out of a copy, their bytes overwritten,
    and the copy read."""
    copy = tmp / "copy.db"
    copy.write_bytes(store_file)
    db = sqlite3.connect(copy)
    db.execute("PRAGMA secure_delete=ON")
    triggers = db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall()
    for (trigger,) in triggers:
        db.execute(f'DROP TRIGGER "{trigger}"')
    db.execute("DELETE FROM audit_log WHERE case_code = ?", (code,))
    db.execute("DELETE FROM cases WHERE code = ?", (code,))
    db.commit()
    db.close()  # the last connection: its WAL goes into the file
    left = copy.read_bytes().lower()
    copy.unlink()
    return code.lower().encode() in left


def test_an_imported_case_purged_still_counts_for_when_it_began_and_ended(app: App) -> None:
    from dataclasses import replace  # noqa: PLC0415

    from casework.services import importing  # noqa: PLC0415
    from casework.store.report_source import read_people  # noqa: PLC0415
    from plans.imports import ImportRecord  # noqa: PLC0415
    from tests.integration.test_import import GOOD_CLOSED  # noqa: PLC0415

    record = ImportRecord.model_validate({**GOOD_CLOSED, "case": "BC-2019-0007"})
    importing.import_record(app.store, app.directories, record, position=1, by=None, now=T0)
    [before] = read_people(app.store, app.directories, tz="Europe/Minsk")
    assert before.episodes and before.consents, "there is history to count"
    erasing.purge_case(app, "BC-2019-0007", reason="she asked to be erased", by="d-director")
    [after] = read_people(app.store, app.directories, tz="Europe/Minsk")
    assert after == replace(before, who=None), "counted still, never broken down"
