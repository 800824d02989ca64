"""Erasure read back from the disk: a real `rehab up --examples` (its own Prefect server, the
runner, the mail catcher) carries a plan whose step titles nothing else has, its messages
arrive, the case ends and is purged, the stack stops; then every file under REHAB_HOME is read
byte by byte (Prefect's SQLite file and its WAL, the logs, the mail, the case store). No
title is anywhere; the case code is only in the case store's tombstone and audit rows (and the
keyring's tombstone line). The same with the case store on PostgreSQL, read through SQL and
its raw pages."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.cli import rehab as in_process
from tests.conftest import EXAMPLES
from tests.e2e.harness import free_port, start_up, wait_for
from tests.e2e.test_up import rehab_env
from tests.integration.test_purge import every_row, names_beyond_its_tombstone, pages_holding

pytestmark = pytest.mark.e2e

CODE = "E2E-ERASE-9"
TITLES = ("Quokka shelter stay 4471", "Wombat clinic visit 4472")
# Partners without quiet hours in the shipped directories: the referral must arrive whatever
# the time of day the test runs at (a message in quiet hours waits until morning).
PLAN = f"""
case: {CODE}
manager: n-zdolnik
steps:
  - {{id: stay, domain: housing, title: {TITLES[0]}, partner: brest-social-services,
      duration: 1h}}
  - {{id: exam, domain: medical, title: {TITLES[1]}, partner: brest-child-psychologist,
      consent: [medical]}}
"""
KEYRING = "secret.key.case-keys"


def rehab(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "flows", *args],
        env=env,
        input="",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"rehab {' '.join(args)}: {done.stderr}{done.stdout}"
    return done


def every_file(home: Path) -> dict[str, bytes]:
    return {str(p.relative_to(home)): p.read_bytes() for p in home.rglob("*") if p.is_file()}


def holding(files: dict[str, bytes], needle: str) -> list[str]:
    """The files that hold `needle`, in any letter case."""
    return sorted(name for name, data in files.items() if needle.lower().encode() in data.lower())


def prefect_rows_naming(home: Path, code: str) -> list[str]:
    """Where in Prefect's database `code` is, as `table.column`: what a failure names."""
    found = []
    with closing(sqlite3.connect(home / "prefect" / "prefect.db")) as db:
        tables = db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
        for (table,) in tables:
            for column in [c[1] for c in db.execute(f'PRAGMA table_info("{table}")')]:
                query = f'SELECT count(*) FROM "{table}" WHERE instr(lower("{column}"), ?) > 0'
                if db.execute(query, (code.lower(),)).fetchone()[0]:
                    found.append(f"{table}.{column}")
    return found


def live_and_purge(tmp_path: Path, env: dict[str, str]) -> dict[str, bytes]:
    """Run the story under `rehab up --examples`, stop it, and read every file of its home."""
    home = Path(env["REHAB_HOME"])
    plan = tmp_path / "plan.yaml"  # the operator's own file, outside REHAB_HOME
    plan.write_text(PLAN)
    staff = tmp_path / "staff-with-director.yaml"
    staff.write_text(
        (EXAMPLES / "staff.yaml").read_text() + "  d-director: {name: D, role: director}\n"
    )
    up, _ = start_up(env, "--examples")
    try:
        rehab(env, "plan", "launch", str(plan))
        rehab(env, "plan", "approve", CODE, "--by", "l-istomova")
        inbox = home / "mail"
        wait_for(
            lambda: any(TITLES[0].encode() in m.read_bytes() for m in inbox.glob("*.eml")),
            timeout=120,
            what="the social services' referral at the mail catcher",
        )
        held = every_file(home)
        assert holding(held, TITLES[0]), "the titles were in the files"
        rehab(env, "consent", "withdraw", CODE, "--all", "--by", "n-zdolnik")

        def ended() -> bool:
            status = json.loads(in_process(env, "plan", "status", CODE, "--json").stdout)
            return status["state"] == "cancelled"

        wait_for(ended, timeout=120, what="the plan to end")
        logs = {n: d for n, d in every_file(home).items() if n.startswith("logs/")}
        assert not [n for t in TITLES for n in holding(logs, t)], "logs never carry titles"
        done = rehab(
            {**env, "REHAB_STAFF_FILE": str(staff), "REHAB_DEBUG": "1"},
            "case",
            "purge",
            CODE,
            "--reason",
            "erasure requested",
            "--by",
            "d-director",
        )
        assert "purged" in done.stdout
        # What the ending run still publishes goes at the clock's follow-up (every second).
        wait_for(
            lambda: not holding(every_file(home), TITLES[0]),
            timeout=90,
            what="the titles gone from the running engine's files",
        )
    finally:
        if up.poll() is None:
            up.send_signal(signal.SIGINT)
            up.communicate(timeout=240)
    assert up.returncode == 0
    return every_file(home)


def test_after_a_purge_no_file_under_rehab_home_holds_the_case_on_sqlite(tmp_path: Path) -> None:
    env = rehab_env(tmp_path / "home", free_port())
    files = live_and_purge(tmp_path, env)
    assert "prefect/prefect.db" in files and "cases.db" in files
    for title in TITLES:
        assert holding(files, title) == []
    assert holding(files, CODE) == sorted(["cases.db", KEYRING]), prefect_rows_naming(
        tmp_path / "home", CODE
    )
    assert f"/{CODE} -\n".encode() in files[KEYRING], "the keyring's line is a tombstone"
    assert not names_beyond_its_tombstone(files["cases.db"], CODE, tmp_path)


@pytest.mark.postgresql
def test_after_a_purge_no_file_or_table_holds_the_case_on_postgresql(
    tmp_path: Path, fresh_postgres: str
) -> None:
    env = rehab_env(tmp_path / "home", free_port()) | {"REHAB_DATABASE_URL": fresh_postgres}
    files = live_and_purge(tmp_path, env)
    for title in TITLES:
        assert holding(files, title) == []
    assert holding(files, CODE) == [KEYRING], prefect_rows_naming(tmp_path / "home", CODE)
    rows = every_row(fresh_postgres, but=("cases", "audit_log"))
    assert [table for table, held in rows.items() if CODE in held] == []
    engine = create_engine(fresh_postgres)
    try:
        with engine.connect() as conn:
            tomb = conn.execute(text("SELECT * FROM cases WHERE code = :c"), {"c": CODE}).one()
            audit = conn.execute(text("SELECT detail FROM audit_log")).all()
    finally:
        engine.dispose()
    assert not any(t in str(tomb) or t in str(audit) for t in TITLES)
    for title in TITLES:
        assert pages_holding(fresh_postgres, title) == []
