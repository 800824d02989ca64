"""Personal data has one home (security.md rule 7): written by `person set` (stdin, never argv),
read back only by `person show`, each read audited with who and why; step titles, ids, notes
and reasons that name the person are refused. SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from sqlalchemy import create_engine, select, text

from casework.domain.errors import PersonNamed, ReasonNamesPerson
from casework.services import person as person_data
from casework.services import plan_changes, recording
from casework.store import queries
from casework.store.db import Store, open_store
from casework.store.tables import AuditRow
from plans.directories import Directories
from plans.loading import load_plan
from plans.model import Person, Plan
from plans.screening import names_person
from tests.cli import rehab
from tests.conftest import EXAMPLES, T0
from tests.plaintext import shows

PERSON = {
    "name": "Алеся Прыватная",
    "gender": "female",
    "birth_year": 1979,
    "contact": "+375 29 765-43-21, alesia.secret@mail.example",
    "exploitation": ["labour"],
}
CLEAR = ("Алеся", "Прыватная", "Alesia", "765-43-21", "7654321", "alesia.secret", "1979")


def launched(store: Store, directories: Directories) -> Plan:
    plan = load_plan(EXAMPLES / "BC-2026-0042.yaml", directories).model_copy(
        update={"person": None}
    )
    plan_changes.launch(
        store, directories, plan=plan, by="n-zdolnik", now=T0, approval_required=False
    )
    return plan


def reads(store: Store) -> list[AuditRow]:
    with store.session() as session:
        return list(session.scalars(select(AuditRow).where(AuditRow.action.like("person-%"))))


def test_a_person_set_on_stdin_is_read_back_only_by_show_and_every_read_is_audited(
    tmp_path: Path, store_url: str, directories: Directories
) -> None:
    env = {"REHAB_HOME": str(tmp_path / "home"), "REHAB_DATABASE_URL": store_url}
    assert rehab(env, "db", "upgrade").returncode == 0
    store = open_store(store_url, tmp_path / "home" / "secret.key")
    try:
        launched(store, directories)
        done = rehab(env, "person", "set", "BC-2026-0042", stdin=yaml.safe_dump(PERSON))
        assert done.returncode == 0, done.output
        for args in (
            ("plan", "status", "BC-2026-0042", "--json"),
            ("plan", "list", "--json"),
            ("audit", "show", "BC-2026-0042", "--json"),
        ):
            out = rehab(env, *args).stdout
            assert not any(v in out for v in CLEAR), args
        assert [r.action for r in reads(store)] == ["person-set"], "status and list read none"
        shown = rehab(
            env,
            "person",
            "show",
            "BC-2026-0042",
            "--reason",
            "-",
            "--json",
            stdin="court request 114",
        )
        again = rehab(env, "person", "show", "BC-2026-0042", "--reason", "-", stdin="a second look")
        read_back = json.loads(shown.stdout)["person"]
        assert {k: v for k, v in read_back.items() if k in PERSON} == PERSON
        assert not any(v for k, v in read_back.items() if k not in PERSON), "nothing else set"
        assert "Прыватная" in again.stdout
        rows = reads(store)
        assert [(r.action, r.actor, r.detail.get("reason")) for r in rows] == [
            ("person-set", "operator", None),
            ("person-read", "operator", "court request 114"),
            ("person-read", "operator", "a second look"),
        ]
        assert rows[0].detail["fields"] == [
            "birth_year",
            "contact",
            "exploitation",
            "gender",
            "name",
        ]
        assert not any(v in json.dumps(r.detail, ensure_ascii=False) for r in rows for v in CLEAR)
        naming = rehab(
            env, "person", "show", "BC-2026-0042", "--reason", "-", stdin="for alesia's file"
        )
        assert naming.returncode == 1 and "--reason of case BC-2026-0042 names the person" in (
            naming.stderr
        )
        assert len(reads(store)) == 3, "a refused read is not a read"
    finally:
        store.dispose()


def test_the_raw_database_holds_none_of_the_person_after_set_amend_and_notes(
    store: Store, store_url: str, directories: Directories, tmp_path: Path
) -> None:
    plan = launched(store, directories)
    person_data.store_person(
        store,
        directories,
        code=plan.case,
        person=Person.model_validate(PERSON),
        by="n-zdolnik",
        now=T0,
    )
    plan_changes.amend(
        store,
        directories,
        plan=plan.model_copy(update={"person": Person.model_validate(PERSON)}),
        by="n-zdolnik",
        now=T0,
    )
    recording.record_consent(
        store,
        directories,
        code=plan.case,
        scopes=["medical"],
        status="given",
        by="n-zdolnik",
        now=T0,
        note="She agreed; call her sister first",
    )
    if store_url.startswith("sqlite"):
        raw = Path(store_url.removeprefix("sqlite:///")).read_bytes()
        for path in Path(store_url.removeprefix("sqlite:///")).parent.glob("cases.db*"):
            raw += path.read_bytes()
        dump = raw.decode("utf-8", errors="replace")
    else:
        engine = create_engine(store_url)
        with engine.connect() as conn:
            tables = (
                conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))
                .scalars()
                .all()
            )
            dump = "".join(str(conn.execute(text(f'SELECT * FROM "{t}"')).all()) for t in tables)
        engine.dispose()
    for value in (*CLEAR, "sister"):
        assert not shows(value, dump), value


def test_titles_ids_and_notes_naming_the_person_are_refused_naming_the_field(
    store: Store, directories: Directories, tmp_path: Path
) -> None:
    plan = launched(store, directories)
    person_data.store_person(
        store, directories, code=plan.case, person=Person.model_validate(PERSON), by=None, now=T0
    )
    steps = [s.model_dump(mode="json") for s in plan.steps]
    steps[1]["title"] = "Medical check for ALESIA"  # Latin for her Cyrillic name
    named = Plan.model_validate({**plan.model_dump(mode="json"), "steps": steps})
    with pytest.raises(PersonNamed) as refused:
        plan_changes.amend(store, directories, plan=named, by="n-zdolnik", now=T0)
    assert str(refused.value).startswith("steps[1].title of case BC-2026-0042 names the person")
    assert "ALESIA" not in str(refused.value)
    with pytest.raises(PersonNamed, match="the note of case"):
        recording.record_consent(
            store,
            directories,
            code=plan.case,
            scopes=["medical"],
            status="given",
            by="n-zdolnik",
            now=T0,
            note="spoke with Прыватная at 765 43 21",
        )
    # At validate: a plan file that carries the person and names her in a step id.
    data = yaml.safe_load((EXAMPLES / "BC-2026-0042.yaml").read_text())
    data["person"] = PERSON
    data["steps"][0]["id"] = "visit-pryvatnaia"  # her surname, spelt in Latin letters
    file = tmp_path / "plan.yaml"
    file.write_text(yaml.safe_dump(data, allow_unicode=True))
    with pytest.raises(Exception, match=r"steps\[0\]\.id: names the person") as invalid:
        load_plan(file, directories)
    assert "pryvatnaia" not in str(invalid.value)


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("Session with Алеся", True),
        ("session with alesya", True),
        ("Call +375 (29) 765 43 21", True),
        ("alesia.secret@mail.example", True),
        ("Prywatna clinic", False),  # not her name, only like it
        ("Legal aid for parental rights", False),
    ],
)
def test_screening_is_case_accent_and_script_insensitive(text: str, named: bool) -> None:
    assert names_person(text, Person.model_validate(PERSON)) is named


def test_plan_new_writes_no_person_and_its_file_is_private(tmp_path: Path) -> None:
    out = tmp_path / "BC-2026-0200.yaml"
    done = rehab(
        {"REHAB_HOME": str(tmp_path / "home")},
        "plan",
        "new",
        "--template",
        "acute-crisis",
        "--case",
        "BC-2026-0200",
        "-o",
        str(out),
    )
    assert done.returncode == 0, done.output
    assert out.stat().st_mode & 0o777 == 0o600
    assert "person" not in yaml.safe_load(out.read_text())


def test_status_and_list_never_carry_personal_data(store: Store, directories: Directories) -> None:
    plan = launched(store, directories)
    person_data.store_person(
        store, directories, code=plan.case, person=Person.model_validate(PERSON), by=None, now=T0
    )
    both = json.dumps(
        [queries.case_status(store, code=plan.case), queries.list_cases(store)], ensure_ascii=False
    )
    assert not any(v in both for v in CLEAR)
    with pytest.raises(ReasonNamesPerson):
        person_data.show_person(
            store, directories, code=plan.case, reason="Alesia asked", by=None, now=T0
        )


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("Приют для Марии Ивановой", True),  # declined forms of her name
        ("Meeting with Ivanovoi's lawyer", True),
        ("Organise documents at mail.example", False),  # her address's domain names no one
        ("Marina boat trip", True),  # a cautious refusal: it starts like her first name
    ],
)
def test_declined_names_are_caught_and_address_domains_are_not(text: str, named: bool) -> None:
    person = Person.model_validate({"name": "Мария Иванова", "contact": "maria.i@mail.example"})
    assert names_person(text, person) is named


def test_person_set_with_a_day_that_does_not_exist_names_the_field_never_the_value(
    tmp_path: Path, store_url: str, directories: Directories
) -> None:
    env = {"REHAB_HOME": str(tmp_path / "home"), "REHAB_DATABASE_URL": store_url}
    assert rehab(env, "db", "upgrade").returncode == 0
    store = open_store(store_url, tmp_path / "home" / "secret.key")
    try:
        launched(store, directories)
        for birth, says in (
            ("1987-02-30", "not a day that exists: give one like 2011-03-14"),
            ("1850-06-05", "out of range: give a date between 1900 and 2200"),
        ):
            done = rehab(env, "person", "set", "bc-2026-0042", stdin=f"birth_date: {birth}\n")
            assert done.returncode == 1, done.output
            lines = done.stderr.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith(
                f"error: <stdin>: person.birth_date: {says}"
            )
            assert birth not in done.output
        assert reads(store) == [], "nothing was set"
    finally:
        store.dispose()
