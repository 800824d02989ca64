"""`rehab case import` writes a batch of records together: when the database refuses one record
in the middle of a batch, the records before and after it are imported and it leaves nothing
behind (no case row, no audit row, no data key), and the audit chain verifies. SQLite and
PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import func, select, text

from casework.services import importing
from casework.store.audit_verify import verify
from casework.store.db import Store
from casework.store.tables import AuditRow, CaseRow, ImportedCaseRow
from plans.directories import Directories
from plans.imports import ImportRecord

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
REFUSED = "BC-2011-0003"


def _records() -> list[tuple[int, ImportRecord]]:
    raws = [
        {
            "case": f"BC-2011-{n:04d}",
            "manager": "n-zdolnik" if n == 0 else "a-kovalchuk",  # a-kovalchuk may not act for 0
            "identified_on": "2011-01-01",
            "person": {"gender": "Feminine", "birth_year": 1990},
            "consents": [
                {"scope": "statistics", "given": True, "by": "a-kovalchuk", "date": "2011-01-02"}
            ],
        }
        for n in range(6)
    ]
    return [(n, ImportRecord.model_validate(raw)) for n, raw in enumerate(raws, start=1)]


@contextmanager
def database_refusing(store: Store, code: str) -> Iterator[None]:
    """A trigger on `cases` that makes the database itself refuse the case `code`."""
    sqlite = store.engine.dialect.name == "sqlite"
    with store.session() as session:
        if sqlite:
            session.execute(
                text(
                    "CREATE TRIGGER refuse_one BEFORE INSERT ON cases "
                    f"WHEN NEW.code = '{code}' BEGIN SELECT RAISE(ABORT, 'refused'); END"
                )
            )
        else:
            session.execute(
                text(
                    "CREATE FUNCTION refuse_one() RETURNS trigger AS $$ BEGIN "
                    f"IF NEW.code = '{code}' THEN "
                    "RAISE EXCEPTION 'refused' USING ERRCODE = 'check_violation'; END IF; "
                    "RETURN NEW; END $$ LANGUAGE plpgsql"
                )
            )
            session.execute(
                text(
                    "CREATE TRIGGER refuse_one BEFORE INSERT ON cases "
                    "FOR EACH ROW EXECUTE FUNCTION refuse_one()"
                )
            )
    try:
        yield
    finally:
        with store.session() as session:
            session.execute(text("DROP TRIGGER refuse_one" + ("" if sqlite else " ON cases")))
            if not sqlite:
                session.execute(text("DROP FUNCTION refuse_one()"))


def test_a_record_the_database_refuses_mid_batch_leaves_nothing_and_the_others_go_in(
    store: Store, directories: Directories
) -> None:
    records = _records()
    with database_refusing(store, REFUSED):
        done = importing.import_records(store, directories, records, by="a-kovalchuk", now=NOW)
    assert done[0][0].field == "manager"  # type: ignore[index]
    assert done[1:3] == ["imported", "imported"]
    assert isinstance(done[3], list) and done[3][0].field == "case"
    assert f"case {REFUSED} was refused by the case store" in done[3][0].message
    assert done[4:] == ["imported", "imported"]
    with store.session() as session:
        codes = set(session.scalars(select(CaseRow.code)))
        audited = [(r.case_code, r.action) for r in session.scalars(select(AuditRow))]
        imported = session.scalar(select(func.count()).select_from(ImportedCaseRow))
        verdict = verify(session)
    assert codes == {"BC-2011-0001", "BC-2011-0002", "BC-2011-0004", "BC-2011-0005"}
    assert imported == 4
    assert [a for a in audited if a[1] != "directory-changed"] == [
        ("BC-2011-0000", "refused"),
        ("BC-2011-0001", "case-imported"),
        ("BC-2011-0002", "case-imported"),
        ("BC-2011-0004", "case-imported"),
        ("BC-2011-0005", "case-imported"),
    ]
    keys = store.sealer.keyring.names("")
    assert not [name for name in keys if name.endswith(f"/{REFUSED}")]  # not even a tombstone
    assert all(store.sealer.has_case_key(code) for code in codes)
    assert verdict.ok and verdict.behind == 0, verdict

    # Put right, the same file brings in the one refused and nothing twice.
    again = importing.import_records(store, directories, records, by="a-kovalchuk", now=NOW)
    assert again[1:] == ["already-there", "already-there", "imported"] + ["already-there"] * 2
    assert store.sealer.has_case_key(REFUSED)
    with store.session() as session:
        assert verify(session).ok
