"""Bad input and broken surroundings as the operator meets them: one line, exit 1, quickly,
and nothing personal or secret in what is printed, logged or audited. The command runs in this
process; the alias bomb runs it as a real process, its memory capped."""

from __future__ import annotations

import os
import resource
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from casework.services import plan_changes
from casework.store.db import open_store
from casework.store.tables import AuditRow
from plans.directories import Directories
from plans.loading import load_plan
from tests.cli import Done, rehab, rehab_process
from tests.conftest import EXAMPLES, T0
from tests.endpoints import SmtpServer

MEMORY_CAP = 1_500_000_000  # bytes of address space the command may take
TIME_CAP = 60  # seconds


def capped(env: dict[str, str], *args: str) -> Done:
    """The real command, its memory capped: a flood fails the test instead of the machine."""

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))

    return rehab_process(env, *args, timeout=TIME_CAP, preexec_fn=cap)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "REHAB_HOME": str(tmp_path / "home"),
        "PATH": "/usr/bin:/bin",
        "PREFECT_API_URL": "http://127.0.0.1:9/api",
    }  # nothing listens there


def one_line_error(done: Done) -> str:
    assert done.returncode == 1, done.stderr[-2000:]
    assert "Traceback" not in done.stderr + done.stdout
    lines = (done.stderr + done.stdout).strip().splitlines()
    assert len(lines) == 1, lines[:5]
    return lines[0]


def alias_bomb(levels: int = 9) -> str:
    """A few hundred bytes of YAML whose aliases stand for 9**levels strings."""
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, levels):
        lines.append(f"a{level}: &a{level} [" + ",".join([f"*a{level - 1}"] * 9) + "]")
    lines.append(f"case: *a{levels - 1}")
    return "\n".join(lines) + "\n"


def test_a_yaml_alias_bomb_is_refused_in_one_line_within_bounded_time_and_memory(
    env: dict[str, str], tmp_path: Path
) -> None:
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(alias_bomb())
    assert bomb.stat().st_size < 500
    for command in (("plan", "validate", str(bomb)), ("plan", "simulate", str(bomb))):
        line = one_line_error(capped(env, *command))
        assert "expands to more than" in line and str(bomb) in line
    directory = {**env, "REHAB_STAFF_FILE": str(bomb)}
    line = one_line_error(
        capped(directory, "plan", "simulate", str(EXAMPLES / "BC-2026-0042.yaml"))
    )
    assert "expands to more than" in line and "error: " + str(bomb) in line


def test_a_huge_value_is_quoted_short_in_the_error(env: dict[str, str], tmp_path: Path) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        yaml.safe_dump(
            {
                "case": "BC-1",
                "manager": "x" * 100_000,
                "steps": [
                    {"id": "s", "domain": "medical", "title": "t", "partner": "brest-clinic"}
                ],
            }
        )
    )
    done = rehab(env, "plan", "validate", str(plan))
    assert done.returncode == 1 and len(done.stderr) < 1000, len(done.stderr)
    assert "plan.yaml: manager: unknown staff id 'xxxxx" in done.stderr
    assert "…" in done.stderr


def test_validation_errors_never_quote_the_persons_data(
    env: dict[str, str], tmp_path: Path
) -> None:
    secrets = {
        "name": ["Secret", "Name"],
        "gender": "Secretive-Gender",
        "birth_year": "Nineteen-Secret",
        "contact": {"phone": "+375 29 765-43-21"},
        "exploitation": ["secret-kind"],
    }
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        yaml.safe_dump(
            {
                "case": "BC-1",
                "manager": "n-zdolnik",
                "person": secrets,
                "steps": [
                    {"id": "s", "domain": "medical", "title": "t", "partner": "brest-clinic"}
                ],
            }
        )
    )
    done = rehab(env, "plan", "validate", str(plan))
    assert done.returncode == 1
    for field in (
        "person.name",
        "person.gender",
        "person.birth_year",
        "person.contact",
        "person.exploitation[0]",
    ):
        assert field in done.stderr, f"{field} is named"
    for value in ("Secret", "Nineteen", "765-43-21", "secret-kind"):
        assert value not in done.stderr


def test_plan_new_with_a_manager_that_looks_like_a_pattern_is_one_line(env: dict[str, str]) -> None:
    line = one_line_error(
        rehab(
            env,
            "plan",
            "new",
            "--template",
            "acute-crisis",
            "--case",
            "BC-2026-0100",
            "--manager",
            "x\\1",
        )
    )
    assert "is not a case manager" in line and "n-zdolnik" in line
    injected = "n-zdolnik\nperson: {name: Injected}"
    line = one_line_error(
        rehab(
            env,
            "plan",
            "new",
            "--template",
            "acute-crisis",
            "--case",
            "BC-2026-0100",
            "--manager",
            injected,
        )
    )
    assert "is not a case manager" in line


@pytest.fixture
def launched(env: dict[str, str], tmp_path: Path, directories: Directories) -> dict[str, str]:
    """A home whose case store holds one active case."""
    home = tmp_path / "home"
    store = open_store(f"sqlite:///{home / 'cases.db'}", home / "secret.key")
    try:
        plan = load_plan(EXAMPLES / "BC-2026-0042.yaml", directories)
        plan_changes.launch(
            store, directories, plan=plan, by="n-zdolnik", now=T0, approval_required=False
        )
    finally:
        store.dispose()
    return env


def test_a_locked_case_store_is_one_line_with_no_sql_and_nothing_half_written(
    launched: dict[str, str], tmp_path: Path
) -> None:
    env = {**launched, "REHAB_DB_BUSY_TIMEOUT": "1s"}
    holder = sqlite3.connect(tmp_path / "home" / "cases.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another writer holds the database
    try:
        line = one_line_error(
            rehab(
                env,
                "consent",
                "record",
                "BC-2026-0042",
                "--scope",
                "medical",
                "--given",
                "--by",
                "n-zdolnik",
            )
        )
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert "database is locked" in line and "was not saved" in line
    assert "SELECT" not in line and "INSERT" not in line and "[parameters" not in line


def test_a_database_password_is_never_printed(env: dict[str, str]) -> None:
    url = "postgresql+psycopg://rehab:s3cr%25et-pw@127.0.0.1:9/cases"  # nothing listens there
    line = one_line_error(rehab({**env, "REHAB_DATABASE_URL": url}, "plan", "list"))
    assert "cannot open the case store" in line and "127.0.0.1:9" in line
    assert "s3cr" not in line


@pytest.mark.postgresql
def test_a_password_with_escapes_opens_and_migrates_a_new_store(
    env: dict[str, str], fresh_postgres: str
) -> None:
    # The server trusts local connections, so any password gets in: the URL is what is tried.
    url = fresh_postgres.replace("postgres@", "postgres:s3cr%25et%40pw@", 1)
    done = rehab({**env, "REHAB_DATABASE_URL": url}, "plan", "list")
    assert (done.returncode, done.stdout, done.stderr) == (0, "no cases\n", "")


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


TOKENS = ("123456789:AAHsecretBotToken", "usersecretkey", "apptokensecret", "hunter2pass")


def test_partners_check_names_channels_by_partner_and_scheme_only(
    env: dict[str, str], tmp_path: Path, smtp: SmtpServer
) -> None:
    partners = {
        "partners": {
            "clinic": {
                "name": "Clinic",
                "kind": "healthcare",
                "region": "Brest",
                "language": "en",
                "notify": [
                    smtp.url("intake@clinic.example"),
                    f"tgram://{TOKENS[0]}/-100123",
                    f"pover://{TOKENS[1]}@{TOKENS[2]}",
                    f"mailto://u:{TOKENS[3]}@127.0.0.1:9?to=x@clinic.example&from=rehab@ngo.example",
                ],
            }
        }
    }
    file = tmp_path / "partners.yaml"
    file.write_text(yaml.safe_dump(partners))
    home = tmp_path / "home"
    done = rehab({**env, "REHAB_PARTNERS_FILE": str(file)}, "partners", "check")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    # Each failed channel says why after "FAILED:", in apprise's words, its URL's parts removed.
    assert [line.split()[1:4] for line in done.stdout.splitlines()] == [
        ["#0", "mailto", "ok"],
        ["#1", "tgram", "FAILED:"],
        ["#2", "pover", "FAILED:"],
        ["#3", "mailto", "FAILED:"],
    ]
    assert "3 of 4 channels failed" in done.stderr
    store = open_store(f"sqlite:///{home / 'cases.db'}", home / "secret.key")
    try:
        with store.session() as session:
            rows = session.scalars(select(AuditRow)).all()
            audited = [repr(r.detail) for r in rows]
            checks = [r for r in rows if r.action != "directory-changed"]  # digests only
    finally:
        store.dispose()
    assert len(checks) == 4
    logs = "".join(p.read_text(errors="replace") for p in home.rglob("*.log"))
    for token in TOKENS:
        assert token not in done.stdout + done.stderr
        assert not any(token in row for row in audited)
        assert token not in logs


def _plan_with_check_ins(tmp_path: Path, check_ins: dict[str, object], **step: object) -> Path:
    raw = yaml.safe_load((EXAMPLES / "BC-2026-0042.yaml").read_text())
    raw["steps"] = [
        {
            "id": "talk",
            "domain": "psychological",
            "title": "Talks",
            "partner": "brest-psychologist",
            "check_ins": check_ins,
            **step,
        }
    ]
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_a_zero_recurrence_is_refused_by_validate_and_simulate_in_one_line(
    env: dict[str, str], tmp_path: Path
) -> None:
    plan = _plan_with_check_ins(tmp_path, {"every": "0s"})
    for command in ("validate", "simulate"):
        line = one_line_error(rehab(env, "plan", command, str(plan)))
        assert f"{plan}: steps[0].check_ins.every (step talk): '0s' is not positive" in line


def test_simulate_refuses_a_timeline_of_millions_of_check_ins_naming_the_field(
    env: dict[str, str], tmp_path: Path
) -> None:
    plan = _plan_with_check_ins(tmp_path, {"every": "1s"})  # open-ended: valid, to be completed
    assert rehab(env, "plan", "validate", str(plan)).returncode == 0
    line = one_line_error(rehab(env, "plan", "simulate", str(plan)))
    assert f"{plan}: steps[0].check_ins.every: every 1s makes 31,536,000 check-ins" in line
    assert "shorter --horizon" in line
    short = rehab(
        env, "plan", "simulate", str(plan), "--horizon", "10m", "--launch-at", "2026-12-01T09:00"
    )
    assert short.returncode == 0, short.stderr
    assert "check-in #600 (assumed attended)" in short.stdout


def test_a_duration_too_long_for_a_timedelta_is_one_line_naming_the_bound(
    env: dict[str, str], tmp_path: Path
) -> None:
    plan = _plan_with_check_ins(tmp_path, {"every": "7d"}, duration="99999999999999999w")
    line = one_line_error(rehab(env, "plan", "validate", str(plan)))
    assert "steps[0].duration (step talk)" in line and "at most 50 years" in line
    horizon = one_line_error(
        rehab(
            env,
            "plan",
            "simulate",
            str(EXAMPLES / "BC-2026-0042.yaml"),
            "--horizon",
            "99999999999999999w",
        )
    )
    assert horizon.startswith("error: --horizon '99999999999999999w' is not a duration")
    launch_at = one_line_error(
        rehab(
            env,
            "plan",
            "simulate",
            str(EXAMPLES / "BC-2026-0042.yaml"),
            "--launch-at",
            "0001-01-01",
        )
    )
    assert "between 1900 and 2200" in launch_at


def test_a_zero_clock_interval_is_one_line_naming_the_variable(env: dict[str, str]) -> None:
    line = one_line_error(rehab({**env, "REHAB_CLOCK_INTERVAL": "0s"}, "plan", "list"))
    assert line.startswith("error: REHAB_CLOCK_INTERVAL: '0s' is not positive")


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (lambda p: p.symlink_to(p.parent / "nowhere"), "is a symbolic link to nothing"),
        (
            lambda p: (p.parent / "t").write_text("keep") and p.symlink_to(p.parent / "t"),
            "is a symbolic link:",
        ),
        (lambda p: p.mkdir(), "is a directory"),
        (lambda p: p.write_text("keep"), "already exists"),
    ],
)
def test_plan_new_and_report_refuse_an_output_in_the_way_in_one_line(
    env: dict[str, str], tmp_path: Path, make: Any, says: str
) -> None:
    out = tmp_path / "out.yaml"
    make(out)
    before = sorted((p.name, p.is_symlink(), p.is_dir()) for p in tmp_path.iterdir())
    for args in (
        ("plan", "new", "--template", "acute-crisis", "--case", "BC-2026-0100", "-o", str(out)),
        ("report", "monthly", "--month", "2026-11", "-o", str(out)),
    ):
        line = one_line_error(rehab(env, *args))
        assert line == f"error: {out} {says}" or line.startswith(f"error: {out} {says}"), line
        assert line.endswith("nothing was written")
    after = sorted((p.name, p.is_symlink(), p.is_dir()) for p in tmp_path.iterdir())
    assert after == before, "nothing was written, through a link or otherwise"
    assert not (tmp_path / "nowhere").exists()
    if (tmp_path / "t").exists():
        assert (tmp_path / "t").read_text() == "keep"


def test_an_output_in_a_missing_folder_is_one_line(env: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "no-such-folder" / "plan.yaml"
    line = one_line_error(
        rehab(
            env,
            "plan",
            "new",
            "--template",
            "acute-crisis",
            "--case",
            "BC-2026-0100",
            "-o",
            str(out),
        )
    )
    assert line.startswith(f"error: {out} is in a folder that does not exist")


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write in any folder")
def test_an_output_in_a_folder_one_may_not_write_is_one_line(
    env: dict[str, str], tmp_path: Path
) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    line = one_line_error(
        rehab(
            env,
            "plan",
            "new",
            "--template",
            "acute-crisis",
            "--case",
            "BC-2026-0100",
            "-o",
            str(locked / "p.yaml"),
        )
    )
    assert "you may not write in that folder" in line
