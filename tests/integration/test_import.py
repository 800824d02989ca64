"""`rehab case import`: cases that began before rehab come in one transaction per record, bad
records are named by position and field while the good ones come in, a second import changes
nothing, and the person is sealed at once. SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select, text

from casework.services import importing, plan_changes, recording
from casework.store import queries
from casework.store.db import Store, open_store
from casework.store.errors import NoPlanYet
from casework.store.repository import get_case_row, read_person
from casework.store.tables import AuditRow, ImportedCaseRow
from plans.directories import Directories
from plans.imports import ImportRecord
from plans.loading import load_plan
from plans.model import Plan
from tests.cli import rehab
from tests.conftest import EXAMPLES

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
SECRET = ("Марина Скрытая", "Скрытая", "111-22-33", "1987-06-05", "prostitution", "marina.s")
TABLES = ("cases", "consents", "imported_cases", "audit_log", "plan_revisions", "steps", "outbox")

GOOD_CLOSED = {
    "case": "BC-2011-0007",
    "manager": "n-zdolnik",
    "identified_on": date(2011, 3, 14),
    "person": {
        "gender": "Feminine",
        "birth_year": 1990,
        "exploitation": ["SexualExploitation"],
        "sexual_exploitation": ["Prostitution"],
        "exploitation_countries": ["pl"],
    },
    "consents": [{"scope": "statistics", "given": True, "by": "n-zdolnik", "date": "2011-03-14"}],
    "closed_on": date(2013, 6, 1),
    "outcome": "completed",
}
GOOD_OPEN = {
    "case": "BC-2024-0311",
    "manager": "a-kovalchuk",
    "identified_on": "2024-05-02",
    "person": {
        "name": "Марина Скрытая",
        "contact": "+375 29 111-22-33, marina.s@mail.example",
        "gender": "female",
        "birth_date": "1987-06-05",
        "citizenship": "BY",
        "exploitation": ["labour"],
    },
    "consents": [
        {"scope": "statistics", "given": False, "by": "a-kovalchuk", "date": "2024-05-02"}
    ],
}
GOOD_TERMINATED = {
    "case": "BC-2019-0042",
    "manager": "n-zdolnik",
    "identified_on": "2019-01-10",
    "closed_on": "2019-08-01",
    "outcome": "terminated",
    "rule": "sobriety",
}
BAD = [
    ({**GOOD_CLOSED, "case": "BC-2012-0001", "manager": "x-nobody"}, "manager"),
    (
        {**GOOD_CLOSED, "case": "BC-2012-0002", "person": {"exploitation_countries": ["QZ"]}},
        "person.exploitation_countries[0]",
    ),
    ({**GOOD_CLOSED, "case": "BC-2012-0003", "closed_on": "2099-01-01"}, "closed_on"),
    ({**GOOD_CLOSED, "manager": "a-kovalchuk"}, "case"),  # BC-2011-0007 again, otherwise
    (
        {
            **GOOD_OPEN,
            "case": "BC-2012-0004",
            "consents": [
                {"scope": "statistics", "given": True, "by": "q-gone", "date": "2012-01-01"}
            ],
        },
        "consents[0].by",
    ),
]


def _yaml(records: list[dict[str, Any]]) -> str:
    return yaml.safe_dump(records, allow_unicode=True, sort_keys=False)


def _counts(store: Store) -> dict[str, int]:
    with store.session() as session:
        return {
            t: int(session.execute(text(f"SELECT count(*) FROM {t}")).scalar_one())  # fixed names
            for t in TABLES
        }


@pytest.fixture
def cli_env(store_url: str, tmp_path: Path) -> dict[str, str]:
    env = {"REHAB_HOME": str(tmp_path / "home"), "REHAB_DATABASE_URL": store_url}
    assert rehab(env, "db", "upgrade").returncode == 0
    return env


def test_bad_records_are_named_by_position_and_field_and_the_good_ones_come_in(
    cli_env: dict[str, str], store_url: str, tmp_path: Path
) -> None:
    records = [GOOD_CLOSED, *(r for r, _ in BAD), GOOD_OPEN, GOOD_TERMINATED]
    path = tmp_path / "earlier.yaml"
    path.write_text(_yaml(records))
    first = rehab(cli_env, "case", "import", str(path))
    assert first.returncode == 1, first.output
    assert "Traceback" not in first.output
    assert f"{path}: 8 records: imported 3, already there 0, refused 5" in first.stdout
    for position, (_, field) in enumerate(BAD, start=2):
        assert f"record {position}: {field}: " in first.stdout, field
    assert "record 2: manager: unknown staff id 'x-nobody'" in first.stdout
    assert "e.g. PL" in first.stdout and "QZ" not in first.output
    assert "record 4: closed_on: a date in the future" in first.stdout
    assert "record 5: case: case BC-2011-0007 is already in the case store" in first.stdout
    assert first.stderr.startswith(f"error: {path}: 5 record(s) refused")
    assert not any(s in first.output for s in SECRET)

    store = open_store(store_url, tmp_path / "home" / "secret.key")
    try:
        assert sorted(r["case"] for r in queries.list_cases(store)) == [
            "BC-2011-0007",
            "BC-2019-0042",
            "BC-2024-0311",
        ]
        before = _counts(store)
        second = rehab(cli_env, "case", "import", str(path), "--json")
        assert second.returncode == 1
        summary = json.loads(second.stdout)
        assert (summary["error"], summary["records"]) == ("records-refused", 8)
        assert (summary["imported"], summary["already_there"]) == (0, 3)
        assert [(r["record"], r["field"]) for r in summary["refused"]] == [
            (p, f) for p, (_, f) in enumerate(BAD, start=2)
        ]
        assert _counts(store) == before, "a second import changes nothing"
    finally:
        store.dispose()


def test_a_clean_file_exits_0_and_reads_from_stdin(
    cli_env: dict[str, str], store_url: str, tmp_path: Path
) -> None:
    done = rehab(cli_env, "case", "import", "-", "--json", stdin=_yaml([GOOD_OPEN, GOOD_CLOSED]))
    assert done.returncode == 0, done.output
    assert json.loads(done.stdout) == {
        "file": "<stdin>",
        "records": 2,
        "imported": 2,
        "already_there": 0,
        "refused": [],
    }
    again = rehab(cli_env, "case", "import", "-", stdin=_yaml([GOOD_OPEN, GOOD_CLOSED]))
    assert again.returncode == 0 and "imported 0, already there 2, refused 0" in again.stdout


def test_a_file_that_is_not_a_list_of_cases_is_one_line(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    done = rehab(cli_env, "case", "import", "-", stdin="case: BC-2011-0007\n")
    assert done.returncode == 1
    assert done.stderr.strip() == (
        "error: <stdin>: expected a YAML list of cases (`- case: BC-2011-0007` ...)"
    )
    missing = rehab(cli_env, "case", "import", str(tmp_path / "nothing.yaml"))
    assert missing.returncode == 1 and "no such file" in missing.stderr


def test_a_director_or_the_records_own_people_import_it_and_no_one_else(
    cli_env: dict[str, str], store_url: str, tmp_path: Path
) -> None:
    other = rehab(cli_env, "case", "import", "-", "--by", "a-kovalchuk", stdin=_yaml([GOOD_CLOSED]))
    assert other.returncode == 1
    assert "record 1: manager: 'a-kovalchuk' may not import the case on case BC-2011-0007" in (
        other.stdout
    )
    unknown = rehab(cli_env, "case", "import", "-", "--by", "x-nobody", stdin=_yaml([GOOD_CLOSED]))
    assert unknown.returncode == 1 and "unknown staff id 'x-nobody'" in unknown.stderr
    boss = rehab(cli_env, "case", "import", "-", "--by", "l-istomova", stdin=_yaml([GOOD_CLOSED]))
    assert boss.returncode == 0, boss.output
    store = open_store(store_url, tmp_path / "home" / "secret.key")
    try:
        with store.session() as session:
            actions = [
                (r.actor, r.action, r.detail.get("why"))
                for r in session.scalars(select(AuditRow).order_by(AuditRow.id))
                if r.action != "directory-changed"  # the directories as the CLI first read them
            ]
    finally:
        store.dispose()
    assert actions == [
        ("a-kovalchuk", "refused", "not-allowed"),
        ("l-istomova", "case-imported", None),
    ]


def _import(store: Store, directories: Directories, raw: dict[str, Any]) -> Any:
    return importing.import_record(
        store, directories, ImportRecord.model_validate(raw), position=1, by=None, now=NOW
    )


def test_the_person_is_sealed_at_once_and_the_audit_row_holds_none_of_it(
    store: Store, directories: Directories, tmp_path: Path
) -> None:
    assert _import(store, directories, GOOD_OPEN) == "imported"
    with store.session() as session:
        row = get_case_row(session, code="BC-2024-0311")
        person = read_person(store.sealer, row)
        audit = session.scalars(select(AuditRow)).one()
        imported = session.scalars(select(ImportedCaseRow)).one()
        dump = []
        for table in (*TABLES, "store_meta"):
            for values in session.execute(text(f"SELECT * FROM {table}")):  # fixed names
                dump.append(
                    " ".join(
                        v.decode("latin-1") if isinstance(v, bytes) else str(v) for v in values
                    )
                )
    assert person is not None and person.name == "Марина Скрытая"
    assert person.identified_on == date(2024, 5, 2), "the record's day fills the person's"
    assert person.citizenship == "BY" and person.birth_date == date(1987, 6, 5)
    assert (audit.action, audit.actor, audit.case_code) == (
        "case-imported",
        "a-kovalchuk",
        "BC-2024-0311",
    )
    assert audit.detail == {
        "state": "imported",
        "consents": ["statistics:refused"],
        "fields": [
            "birth_date",
            "citizenship",
            "contact",
            "exploitation",
            "gender",
            "identified_on",
            "name",
        ],
    }
    assert (imported.identified_on, imported.closed_on, imported.outcome) == (
        date(2024, 5, 2),
        None,
        None,
    )
    everything = "\n".join(dump)
    assert "BC-2024-0311" in everything, "the dump reads the rows"
    for value in SECRET:
        assert value not in everything, value
    if store.engine.dialect.name == "sqlite":
        store.dispose()
        raw = b"".join(p.read_bytes() for p in tmp_path.glob("cases.db*"))
        assert b"BC-2024-0311" in raw
        for value in SECRET:
            assert value.encode() not in raw


def test_an_imported_case_is_recorded_not_launched_and_the_clock_leaves_it_alone(
    store: Store, directories: Directories
) -> None:
    for raw in (GOOD_OPEN, GOOD_CLOSED, GOOD_TERMINATED):
        assert _import(store, directories, raw) == "imported"
    listed = {r["case"]: r for r in queries.list_cases(store)}
    assert {c: r["state"] for c, r in listed.items()} == {
        "BC-2024-0311": "imported",
        "BC-2011-0007": "completed",
        "BC-2019-0042": "terminated",
    }
    assert all(r["wake_at"] is None and r["flow_run_id"] is None for r in listed.values())
    assert queries.due_wakes(store, now=NOW + timedelta(days=3650)) == []
    status = queries.case_status(store, code="BC-2024-0311")
    assert (status["state"], status["steps"], status["imported"]) == ("imported", [], True)
    assert status["consents"]["statistics"]["status"] == "refused"
    ended = queries.case_status(store, code="BC-2019-0042")
    assert ended["reason"] == "rule sobriety breached"
    with pytest.raises(NoPlanYet, match="launch one for it first"):
        recording.record_consent(
            store,
            directories,
            code="BC-2024-0311",
            scopes=["statistics"],
            status="given",
            by="a-kovalchuk",
            now=NOW,
        )


def _plan_for(directories: Directories, code: str, manager: str) -> Plan:
    plan = load_plan(EXAMPLES / "BC-2026-0042.yaml", directories)
    return plan.model_copy(update={"case": code, "manager": manager, "person": None, "start": None})


def test_launching_an_imported_open_case_starts_its_plan_as_a_new_episode(
    store: Store, directories: Directories
) -> None:
    _import(store, directories, GOOD_OPEN)
    plan = _plan_for(directories, "BC-2024-0311", "a-kovalchuk")
    outcome = plan_changes.launch(
        store, directories, plan=plan, by="a-kovalchuk", now=NOW, approval_required=False
    )
    assert outcome.state == "active"
    status = queries.case_status(store, code="BC-2024-0311")
    assert status["episode"] == 2 and status["revision"] == 1 and "imported" not in status
    assert [s["id"] for s in status["steps"]] == [s.id for s in plan.steps]
    assert status["wake_at"] is not None, "now it is on the clock"
    assert "statistics" not in status["consents"], "consents belong to their episode"
    with store.session() as session:
        row = get_case_row(session, code="BC-2024-0311")
        person = read_person(store.sealer, row)
        imported = session.scalars(select(ImportedCaseRow)).one()
    assert person is not None and person.name == "Марина Скрытая", "the plan had none: kept"
    assert imported.identified_on == date(2024, 5, 2) and imported.outcome is None
    assert _import(store, directories, GOOD_OPEN) == "already-there", "the file still matches"


def test_a_case_imported_as_terminated_comes_back_only_through_approval(
    store: Store, directories: Directories
) -> None:
    _import(store, directories, GOOD_TERMINATED)
    plan = _plan_for(directories, "BC-2019-0042", "n-zdolnik")
    outcome = plan_changes.launch(
        store, directories, plan=plan, by="n-zdolnik", now=NOW, approval_required=False
    )
    assert outcome.state == "awaiting-approval"
    assert queries.case_status(store, code="BC-2019-0042")["episode"] == 2


def test_progress_is_shown_on_stderr_for_a_long_file(tmp_path: Path) -> None:
    env = {
        "REHAB_HOME": str(tmp_path / "home"),
        "REHAB_DATABASE_URL": f"sqlite:///{tmp_path / 'cases.db'}",
    }
    records = [
        {"case": f"BC-2010-{n:04d}", "manager": "n-zdolnik", "identified_on": "2010-01-01"}
        for n in range(600)
    ]
    done = rehab(env, "case", "import", "-", stdin=_yaml(records))
    assert done.returncode == 0, done.output
    assert "import: 500/600 records (83%)" in done.stderr
    assert "import: 600/600 records (100%)" in done.stderr
    assert "imported 600, already there 0, refused 0" in done.stdout


def test_plan_list_and_status_show_an_imported_case_for_what_it_is(
    cli_env: dict[str, str],
) -> None:
    assert (
        rehab(cli_env, "case", "import", "-", stdin=_yaml([GOOD_OPEN, GOOD_CLOSED])).returncode == 0
    )
    listed = rehab(cli_env, "plan", "list", "--state", "imported", "--json")
    assert [r["case"] for r in json.loads(listed.stdout)] == ["BC-2024-0311"]
    shown = rehab(cli_env, "plan", "status", "BC-2024-0311")
    assert shown.returncode == 0, shown.output
    assert shown.stdout.startswith("BC-2024-0311: imported (revision 0, manager a-kovalchuk")
    assert "`rehab plan launch FILE` starts one" in shown.stdout
    person = rehab(cli_env, "person", "set", "BC-2024-0311", stdin="citizenship: LT\n")
    assert person.returncode == 0, person.output
    refused = rehab(
        cli_env, "step", "complete", "BC-2024-0311", "rehab-centre", "--by", "a-kovalchuk"
    )
    assert refused.returncode == 1
    assert refused.stderr.strip() == (
        "error: case BC-2024-0311 (imported) was imported and has no plan in rehab yet: launch "
        "one for it first (`rehab plan launch FILE` with `case: BC-2024-0311`)"
    )


def test_imported_cases_count_in_the_programme_report_when_they_began_and_ended(
    cli_env: dict[str, str],
) -> None:
    records = [
        {
            **GOOD_TERMINATED,
            "case": f"BC-2012-{n:04d}",
            "identified_on": "2012-02-01",
            "closed_on": "2013-03-01",
            "outcome": "completed",
            "rule": None,
            "person": {"gender": "female", "exploitation": ["labour"]},
            "consents": [
                {"scope": "statistics", "given": True, "by": "n-zdolnik", "date": "2012-02-01"}
            ],
        }
        for n in range(12)
    ]
    for record in records:
        del record["rule"]
    assert rehab(cli_env, "case", "import", "-", stdin=_yaml(records)).returncode == 0

    def cells(*period: str) -> dict[tuple[str, str, str, str], int]:
        done = rehab(cli_env, "report", *period, "--format", "json")
        assert done.returncode == 0, done.output
        return {
            (c["table"], c["basis"], c["code1"], c["code2"]): c["count"]
            for c in json.loads(done.stdout)["cells"]
        }

    since = cells("since-start")
    assert since[("A1", "cumulative", "Identified", "People")] == 12
    assert since[("D1", "cumulative", "Completed", "Plans")] == 12
    assert since[("B4", "cumulative", "ForcedLabour", "Total")] == 12
    month = cells("monthly", "--month", "2013-03")
    assert month[("D1", "period", "Completed", "Plans")] == 12, "counted when it ended"
    assert cells("monthly", "--month", "2013-04")[("D1", "period", "Completed", "Plans")] == 0


def test_a_date_that_does_not_exist_or_is_out_of_range_names_its_record_and_field_only(
    cli_env: dict[str, str], store_url: str, tmp_path: Path
) -> None:
    records = [
        GOOD_OPEN,
        {**GOOD_CLOSED, "case": "BC-2012-0009", "identified_on": date(1990, 2, 28)},
        GOOD_TERMINATED,
        {**GOOD_CLOSED, "case": "BC-2012-0010", "identified_on": date(1850, 1, 1)},
        {
            **GOOD_OPEN,
            "case": "BC-2012-0011",
            "person": {**GOOD_OPEN["person"], "birth_date": date(1986, 6, 5)},
        },
        {
            **GOOD_CLOSED,
            "case": "BC-2012-0012",
            "consents": [
                {"scope": "medicl", "given": True, "by": "n-zdolnik", "date": "2011-03-14"}
            ],
        },
    ]
    # Written as a YAML file would be: unquoted dates that PyYAML reads as timestamps.
    text = _yaml(records).replace("1990-02-28", "1990-02-30").replace("1986-06-05", "1986-02-31")
    path = tmp_path / "earlier.yaml"
    path.write_text(text)
    done = rehab(cli_env, "case", "import", str(path))
    assert done.returncode == 1, done.output
    assert "Traceback" not in done.output and "unexpected" not in done.output
    assert f"{path}: 6 records: imported 2, already there 0, refused 4" in done.stdout
    assert "record 2: identified_on: not a day that exists: give one like 2011-03-14" in done.stdout
    assert "record 4: identified_on: out of range: give a date between 1900 and 2200" in done.stdout
    assert "record 5: person.birth_date: not a day that exists" in done.stdout
    assert "record 6: consents[0].scope: unknown consent scope 'medicl'" in done.stdout
    assert not any(v in done.output for v in ("1990-02-30", "1850-01-01", "1986-02-31"))
    store = open_store(store_url, tmp_path / "home" / "secret.key")
    try:
        assert sorted(r["case"] for r in queries.list_cases(store)) == [
            "BC-2019-0042",
            "BC-2024-0311",
        ]
    finally:
        store.dispose()


def test_a_record_naming_a_stored_case_in_other_letters_is_that_case(
    cli_env: dict[str, str], store_url: str
) -> None:
    assert rehab(cli_env, "case", "import", "-", stdin=_yaml([GOOD_CLOSED])).returncode == 0
    again = rehab(
        cli_env, "case", "import", "-", stdin=_yaml([{**GOOD_CLOSED, "case": "bc-2011-0007"}])
    )
    assert again.returncode == 0, again.output
    assert "imported 0, already there 1, refused 0" in again.stdout


def test_a_bulk_import_with_refusals_between_leaves_the_audit_chain_whole(tmp_path: Path) -> None:
    env = {
        "REHAB_HOME": str(tmp_path / "home"),
        "REHAB_DATABASE_URL": f"sqlite:///{tmp_path / 'cases.db'}",
    }
    records = [
        {
            "case": f"BC-2011-{n:04d}",
            "manager": "a-kovalchuk" if n % 3 else "n-zdolnik",  # a-kovalchuk may not act for these
            "identified_on": "2011-01-01",
        }
        for n in range(600)
    ]
    done = rehab(env, "case", "import", "-", "--by", "a-kovalchuk", stdin=_yaml(records))
    assert done.returncode == 1
    assert "imported 400, already there 0, refused 200" in done.stdout
    changed = [dict(r, identified_on="2011-02-02") if n % 2 else r for n, r in enumerate(records)]
    again = rehab(env, "case", "import", "-", "--by", "a-kovalchuk", stdin=_yaml(changed))
    assert "imported 0, already there 200, refused 400" in again.stdout
    verified = rehab(env, "audit", "verify")
    assert verified.returncode == 0, verified.output
