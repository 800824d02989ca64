"""The `rehab` command without the engine: new, validate, simulate, status, list, db upgrade.
Run in-process through click's runner, with the environment each test gives."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from sqlalchemy import text

from casework.domain.errors import CaseAlreadyActive
from casework.services import plan_changes
from casework.store.db import open_store
from flows.cli import cli
from plans.loading import load_directories, load_plan
from tests.cli import rehab
from tests.conftest import EXAMPLES, T0, TEMPLATES


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "REHAB_HOME": str(tmp_path / "home"),
        "PREFECT_API_URL": "http://127.0.0.1:9/api",
    }  # nothing listens there


def test_plan_new_writes_a_plan_that_validates(env: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "BC-2026-0100.yaml"
    done = rehab(
        env, "plan", "new", "--template", "acute-crisis", "--case", "BC-2026-0100", "-o", str(out)
    )
    assert done.returncode == 0, done.stderr
    assert "case: BC-2026-0100" in out.read_text()
    assert out.read_text().count("#") >= 1, "the template's guidance comments are kept"
    assert (
        rehab(env, "plan", "validate", str(out))
        .stdout.strip()
        .endswith("(case BC-2026-0100, 4 steps)")
    )
    again = rehab(
        env, "plan", "new", "--template", "acute-crisis", "--case", "BC-2026-0100", "-o", str(out)
    )
    assert again.returncode == 1 and "already exists" in again.stderr


def test_plan_new_refuses_an_unknown_template_listing_the_known(env: dict[str, str]) -> None:
    done = rehab(env, "plan", "new", "--template", "nope", "--case", "BC-1")
    assert done.returncode == 1
    assert "no template 'nope'" in done.stderr and "family-reunification" in done.stderr


def test_validate_reports_every_file_and_fails_if_any_is_bad(
    env: dict[str, str], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        (EXAMPLES / "BC-2026-0042.yaml")
        .read_text()
        .replace("partner: brest-clinic", "partner: ghost-clinic")
    )
    done = rehab(env, "plan", "validate", str(EXAMPLES / "BC-2026-0042.yaml"), str(bad))
    assert done.returncode == 1
    assert "BC-2026-0042.yaml: ok" in done.stdout
    assert f"{bad}: steps[1].partner: unknown partner 'ghost-clinic'" in done.stderr
    data = json.loads(rehab(env, "plan", "validate", "--json", str(bad)).stdout)
    assert data[0]["ok"] is False and data[0]["issues"][0]["path"] == "steps[1].partner"


def test_validate_accepts_every_shipped_plan(env: dict[str, str]) -> None:
    files = [str(p) for p in sorted(TEMPLATES.glob("*.yaml")) + sorted(EXAMPLES.glob("BC-*"))]
    done = rehab(env, "plan", "validate", *files)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count(": ok") == len(files)


def test_simulate_prints_the_timeline_in_the_plans_time_zone(env: dict[str, str]) -> None:
    done = rehab(
        env,
        "plan",
        "simulate",
        str(EXAMPLES / "BC-2026-0042.yaml"),
        "--launch-at",
        "2026-11-28T12:00",
    )
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert "times in Europe/Minsk (UTC+03:00)" in text
    assert re.search(r"(?m)^Tue 2026-12-01 09:00\s+rehab-centre\s+step starts", text)
    assert "referral → Rehabilitation centre, Minsk (minsk-rehab-centre)" in text
    assert "reminder → Psychological support service, Brest (brest-psychologist)" in text
    # 2h before its 09:00 check-in is 07:00, in quiet hours until 09:00: it goes the evening before.
    assert re.search(
        r"(?m)^Wed 2026-12-09 20:50\s+psychologist\s+reminder of check-in #1 .*"
        r"\(sent before quiet hours, which last past the check-in\)",
        text,
    )
    assert "medical-check: stays open until someone completes it" in text
    assert "Example Person" not in text


def test_simulate_json_lists_each_event_and_who_is_told(env: dict[str, str]) -> None:
    done = rehab(env, "plan", "simulate", "--json", str(EXAMPLES / "BC-2026-0063.yaml"))
    data = json.loads(done.stdout)
    starts = [e["step"] for e in data["events"] if e["what"] == "step starts"]
    assert starts == ["crisis-room", "food-parcel", "medical-check"]
    told = {t["recipient"] for e in data["events"] for t in e["told"]}
    assert {"staff:l-istomova", "partner:brest-clinic", "staff:n-zdolnik"} <= told


def test_a_bad_setting_is_one_line_naming_the_variable(env: dict[str, str]) -> None:
    done = rehab({**env, "REHAB_CLOCK_INTERVAL": "often"}, "plan", "list")
    assert done.returncode == 1
    assert done.stderr.startswith("error: REHAB_CLOCK_INTERVAL: 'often' is not a duration")
    assert len(done.stderr.strip().splitlines()) == 1


def test_launch_without_the_engine_changes_nothing(env: dict[str, str]) -> None:
    done = rehab(env, "plan", "launch", str(EXAMPLES / "BC-2026-0063.yaml"))
    assert (
        done.returncode == 1
        and "rehab up" in done.stderr
        and "nothing was changed" in (done.stderr)
    )
    assert rehab(env, "plan", "list").stdout.strip() == "no cases"


def test_db_upgrade_and_an_empty_list(env: dict[str, str]) -> None:
    done = rehab(env, "db", "upgrade")
    assert done.returncode == 0 and "case store at revision" in done.stdout
    assert json.loads(rehab(env, "plan", "list", "--json").stdout) == []
    assert rehab(env, "plan", "list", "--state", "sleeping").returncode == 2


def test_a_user_error_with_json_is_printed_as_data_too(env: dict[str, str]) -> None:
    done = rehab(env, "plan", "status", "BC-NONE", "--json")
    assert done.returncode == 1
    assert json.loads(done.stdout) == {
        "error": "case-not-found",
        "code": "BC-NONE",
        "message": "no case BC-NONE in the case store; `rehab plan list` shows the cases",
    }
    assert done.stderr.startswith("error: no case BC-NONE")


def test_every_command_that_changes_something_offers_json() -> None:
    def leaves(group: object, path: str) -> list[tuple[str, object]]:
        commands = getattr(group, "commands", None)
        if commands is None:
            return [(path, group)]
        return [leaf for name, sub in commands.items() for leaf in leaves(sub, f"{path} {name}")]

    reading_only = {
        "rehab plan validate",
        "rehab plan simulate",
        "rehab plan status",
        "rehab plan list",
        "rehab up",
    }
    for path, command in leaves(cli, "rehab"):
        if path in reading_only:
            continue
        options = {o for p in command.params for o in getattr(p, "opts", [])}  # type: ignore[attr-defined]  # click commands
        assert "--json" in options, f"{path} has no --json"


def test_a_note_comes_from_stdin_never_from_the_command_line(
    env: dict[str, str], sqlite_template: Path
) -> None:
    consent = ("consent", "record", "BC-1", "--scope", "medical", "--given", "--by", "n-zdolnik")
    on_argv = rehab(env, *consent, "--note", "She agreed after a long talk")
    assert on_argv.returncode == 1
    assert on_argv.stderr.strip() == (
        "error: --note takes no text on the command line (every user of this machine can read "
        "it there): give `--note -` and type it on stdin, or let $EDITOR open"
    )
    empty = rehab(env, *consent, "--note", "-", stdin="")
    assert empty.returncode == 1 and "nothing was written" in empty.stderr
    read = rehab(env, *consent, "--note", "-", stdin="She agreed\n")
    assert read.returncode == 1 and "no case BC-1" in read.stderr, "the note read, on to the case"


def _launched(env: dict[str, str], template: Path, code: str = "BC-2026-0042") -> None:
    """The example case launched in REHAB_HOME's store, made from `template` (the session's
    migrated SQLite file) when there is none yet."""
    home = Path(env["REHAB_HOME"])
    if not (home / "cases.db").exists():
        home.mkdir(mode=0o700, parents=True, exist_ok=True)
        shutil.copyfile(template, home / "cases.db")
    store = open_store(f"sqlite:///{home / 'cases.db'}", home / "secret.key")
    try:
        directories = load_directories(EXAMPLES / "partners.yaml", EXAMPLES / "staff.yaml")
        plan = load_plan(EXAMPLES / "BC-2026-0042.yaml", directories)
        plan_changes.launch(
            store,
            directories,
            plan=plan.model_copy(update={"case": code}),
            by="n-zdolnik",
            now=T0,
            approval_required=False,
        )
    finally:
        store.dispose()


def test_a_case_code_typed_in_other_letters_finds_the_case(
    env: dict[str, str], sqlite_template: Path
) -> None:
    _launched(env, sqlite_template)
    status = rehab(env, "plan", "status", "bc-2026-0042", "--json")
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["case"] == "BC-2026-0042"
    done = rehab(
        env, "consent", "record", "Bc-2026-0042", "--scope", "statistics", "--given", "--by",
        "n-zdolnik",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("BC-2026-0042: consent given for statistics")
    shown = rehab(env, "person", "show", "bc-2026-0042", "--reason", "-", stdin="a court's request")
    assert shown.returncode == 0, shown.stderr
    rows = json.loads(rehab(env, "audit", "show", "bc-2026-0042", "--json").stdout)
    assert {"launch", "consent-given", "person-read"} <= {r["action"] for r in rows}
    listed = json.loads(rehab(env, "plan", "list", "--json").stdout)
    assert [r["case"] for r in listed] == ["BC-2026-0042"], "one case, spelt as it was stored"


def test_a_plan_naming_a_stored_case_in_other_letters_is_that_case_never_a_second(
    env: dict[str, str], tmp_path: Path, sqlite_template: Path
) -> None:
    _launched(env, sqlite_template)
    text_lower = (EXAMPLES / "BC-2026-0042.yaml").read_text().replace("BC-", "bc-")
    lower = tmp_path / "lower.yaml"
    lower.write_text(text_lower)
    home = Path(env["REHAB_HOME"])
    store = open_store(f"sqlite:///{home / 'cases.db'}", home / "secret.key")
    try:
        directories = load_directories(EXAMPLES / "partners.yaml", EXAMPLES / "staff.yaml")
        with pytest.raises(CaseAlreadyActive, match="case BC-2026-0042 is already active"):
            plan_changes.launch(
                store,
                directories,
                plan=load_plan(lower, directories),
                by="n-zdolnik",
                now=T0,
                approval_required=False,
            )
    finally:
        store.dispose()
    amended = rehab(env, "plan", "amend", str(lower), "--json")
    assert amended.returncode == 0, amended.stderr
    assert (json.loads(amended.stdout)["case"], json.loads(amended.stdout)["revision"]) == (
        "BC-2026-0042",
        2,
    )
    listed = json.loads(rehab(env, "plan", "list", "--json").stdout)
    assert [(r["case"], r["revision"]) for r in listed] == [("BC-2026-0042", 2)]


def test_two_stored_spellings_of_one_code_are_refused_as_ambiguous_unless_typed_exactly(
    env: dict[str, str],
    sqlite_template: Path,
) -> None:
    # Possible only in a store written before codes were matched whatever their letters.
    home = Path(env["REHAB_HOME"])
    _launched(env, sqlite_template, "BC-2026-0042")
    store = open_store(f"sqlite:///{home / 'cases.db'}", home / "secret.key")
    try:
        with store.session() as session:
            session.execute(
                text(
                    "INSERT INTO cases (code, episode, state, manager, supervisor, revision, "
                    "start, wakes, created_at, updated_at, version) SELECT 'bc-2026-0042', "
                    "episode, state, manager, supervisor, revision, start, wakes, created_at, "
                    "updated_at, version FROM cases"
                )
            )
    finally:
        store.dispose()
    assert rehab(env, "plan", "status", "bc-2026-0042").returncode == 0, "typed exactly"
    line = rehab(env, "plan", "status", "Bc-2026-0042")
    assert line.returncode == 1
    assert "matches cases BC-2026-0042, bc-2026-0042" in line.stderr


def test_consent_for_a_scope_the_programme_does_not_know_is_refused_naming_the_known(
    env: dict[str, str],
    sqlite_template: Path,
) -> None:
    _launched(env, sqlite_template)
    done = rehab(
        env, "consent", "record", "BC-2026-0042", "--scope", "medicl", "--given", "--by",
        "n-zdolnik",
    )  # fmt: skip
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "no consent scope 'medicl' is known to the programme" in lines[0]
    assert "medical, legal" in lines[0] and "child-psychological, education" in lines[0]
    withdrawn = rehab(
        env, "consent", "withdraw", "BC-2026-0042", "--scope", "medicl", "--by", "n-zdolnik"
    )
    assert withdrawn.returncode == 1 and "is known to the programme" in withdrawn.stderr
