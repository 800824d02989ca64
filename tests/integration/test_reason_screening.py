"""Reasons and every other screened text (security.md rule 7): `person show` takes its reason
from stdin, never argv; screening sees through invisible characters and look-alike forms, and
refuses the person's date of birth in any common form. The command (in process) for what the
operator types; the screening itself as a function."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from casework.domain.errors import PersonNamed, ReasonNamesPerson
from casework.services import person as person_data
from casework.services import plan_changes, recording
from casework.services.purge import purge
from casework.store.db import Store, open_store
from casework.store.tables import AuditRow
from plans.birth_dates import _MONTH_WORDS, MONTHS, mentions_date
from plans.directories import Directories, StaffDirectory
from plans.folding import fold
from plans.loading import load_plan
from plans.model import Person
from plans.screening import names_person
from tests.cli import Done
from tests.cli import rehab as run
from tests.conftest import EXAMPLES, T0

CODE = "BC-2026-0042"
MARIA = Person.model_validate(
    {
        "name": "Мария Иванова",
        "birth_year": 1991,
        "birth_date": "1991-03-14",
        "contact": "+375 29 111-22-33",
    }
)
ZWSP = "\u200b"


def rehab(home: Path, *args: str, stdin: str = "") -> Done:
    """The command as the operator runs it, stdin piped."""
    return run(
        {"REHAB_HOME": str(home), "PREFECT_API_URL": "http://127.0.0.1:9/api"}, *args, stdin=stdin
    )


@pytest.fixture
def home(tmp_path: Path, directories: Directories, sqlite_template: Path) -> Iterator[Path]:
    """A REHAB_HOME whose store holds the example case with Maria's data sealed in it."""
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    shutil.copyfile(sqlite_template, home / "cases.db")  # migrated once per session
    store = open_store(f"sqlite:///{home / 'cases.db'}", home / "secret.key")
    try:
        plan = load_plan(EXAMPLES / f"{CODE}.yaml", directories).without_person()
        plan_changes.launch(
            store, directories, plan=plan, by="n-zdolnik", now=T0, approval_required=False
        )
        person_data.store_person(store, directories, code=CODE, person=MARIA, by=None, now=T0)
    finally:
        store.dispose()
    yield home


def reads(home: Path) -> list[AuditRow]:
    store = open_store(f"sqlite:///{home / 'cases.db'}", home / "secret.key")
    try:
        with store.session() as session:
            return list(session.scalars(select(AuditRow).where(AuditRow.action == "person-read")))
    finally:
        store.dispose()


def one_line(done: Done) -> str:
    assert done.returncode == 1, done.stderr[-2000:]
    lines = (done.stdout + done.stderr).strip().splitlines()
    assert "Traceback" not in done.stderr and len(lines) == 1, lines[:5]
    return lines[0]


def test_person_show_refuses_a_reason_on_the_command_line_with_the_hint(home: Path) -> None:
    line = one_line(rehab(home, "person", "show", CODE, "--reason", "court request 114"))
    assert "--reason takes no text on the command line" in line and "`--reason -`" in line
    assert "court request" not in line
    assert reads(home) == [], "nothing was read, so nothing is audited as a read"


def test_person_show_reads_its_reason_from_stdin_and_audits_it(home: Path) -> None:
    done = rehab(home, "person", "show", CODE, "--reason", "-", "--json", stdin="court request 114")
    assert done.returncode == 0, done.stderr
    assert '"name": "Мария Иванова"' in done.stdout
    assert [r.detail["reason"] for r in reads(home)] == ["court request 114"]


@pytest.mark.parametrize(
    "reason",
    [
        f"file of M{ZWSP}aria Iva{ZWSP}nova",  # zero-width spaces inside her name
        "file of Ma\u00adria",  # a soft hyphen
        "file of \uff2d\uff41\uff52\uff49\uff41",  # full-width letters
        "born 14.03.1991",
        "born 14 марта 1991 г.",
    ],
)
def test_person_show_refuses_a_reason_that_hides_her_name_or_gives_her_birth_date(
    home: Path, reason: str
) -> None:
    line = one_line(rehab(home, "person", "show", CODE, "--reason", "-", stdin=reason))
    assert line.startswith(f"error: --reason of case {CODE} names the person")
    assert "1991" not in line and "aria" not in line
    assert reads(home) == []


@pytest.mark.parametrize(
    "text",
    [
        "1991-03-14",
        "14.03.1991",
        "14/03/1991",
        "03/14/1991",
        "14-03-1991",
        "14.3.91",
        "1991/3/14",
        "14 March 1991",
        "March 14th, 1991",
        "14th of Mar 1991",
        "14 марта 1991",
        "14-го марта 1991 года",
        "14 сакавіка 1991",
        "14031991",
        "19910314",
        "140391",
        "1 4 0 3 1 9 9 1",
        f"14{ZWSP}.03.1991",
        "\uff11\uff14.\uff10\uff13.\uff11\uff19\uff19\uff11",  # full-width digits
    ],
)
def test_her_birth_date_in_any_common_form_is_screened(text: str) -> None:
    assert names_person(f"checked: {text}", MARIA)


@pytest.mark.parametrize(
    "text",
    [
        "hearing on 14.03.2026",
        "course from 1991 curriculum",
        "14 March",  # no year: a day of the calendar, not her birth date
        "room 14, floor 3, 1991 building",
        "Legal aid for parental rights",
    ],
)
def test_other_dates_and_numbers_pass_the_screening(text: str) -> None:
    assert not names_person(text, MARIA)


def test_only_a_full_birth_date_is_screened_a_birth_year_alone_is_not() -> None:
    year_only = Person.model_validate({"name": "Мария Иванова", "birth_year": 1991})
    assert not names_person("born 14.03.1991", year_only)
    assert not mentions_date("budget 1991", date(1991, 3, 14))


def test_every_month_word_stands_for_one_month() -> None:
    for number, words in enumerate(_MONTH_WORDS, 1):
        assert {MONTHS[fold(word)] for word in words.split()} == {number}, words


def test_step_titles_ids_and_notes_get_the_same_screening(
    store: Store, directories: Directories
) -> None:
    plan = load_plan(EXAMPLES / f"{CODE}.yaml", directories).without_person()
    plan_changes.launch(
        store, directories, plan=plan, by="n-zdolnik", now=T0, approval_required=False
    )
    person_data.store_person(store, directories, code=CODE, person=MARIA, by=None, now=T0)
    steps = [s.model_dump(mode="json") for s in plan.steps]
    steps[1]["title"] = f"Medical check, M{ZWSP}aria"
    titled = plan.model_validate({**plan.model_dump(mode="json"), "steps": steps})
    with pytest.raises(PersonNamed, match=r"^steps\[1\]\.title of case"):
        plan_changes.amend(store, directories, plan=titled, by="n-zdolnik", now=T0)
    with pytest.raises(PersonNamed, match=r"^the note of case"):
        recording.record_consent(
            store,
            directories,
            code=CODE,
            scopes=["medical"],
            status="given",
            by="n-zdolnik",
            now=T0,
            note="she was born 14/03/1991, checked the passport",
        )


def test_a_purge_reason_holding_her_birth_date_or_a_hidden_name_is_refused(
    store: Store, directories: Directories
) -> None:
    plan = load_plan(EXAMPLES / f"{CODE}.yaml", directories).without_person()
    plan_changes.launch(
        store, directories, plan=plan, by="n-zdolnik", now=T0, approval_required=False
    )
    person_data.store_person(store, directories, code=CODE, person=MARIA, by=None, now=T0)
    recording.withdraw_all(store, directories, code=CODE, by="n-zdolnik", now=T0)
    staff = StaffDirectory.model_validate(
        {"staff": {"d-director": {"name": "D", "role": "director"}}}
    )
    with_director = Directories(directories.partners, staff)
    for reason in ("erasure asked on 14 March 1991's papers", f"I{ZWSP}vanova asked"):
        with pytest.raises(ReasonNamesPerson):
            purge(store, with_director, code=CODE, reason=reason, by="d-director", now=T0)
    purge(store, with_director, code=CODE, reason="she asked to be erased", by="d-director", now=T0)
