"""`rehab case close` without the engine: the case ends in the store, the plan follows at the
clock's next tick; a wrong reason or `--to` is one line and exit 1."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.test_cli import _launched, rehab

CLOSE = ("case", "close", "bc-2026-0042", "--by", "n-zdolnik")


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"REHAB_HOME": str(tmp_path / "home"), "PREFECT_API_URL": "http://127.0.0.1:9/api"}


def test_a_transfer_closes_the_case_and_plan_status_shows_where_it_went(
    env: dict[str, str],
    sqlite_template: Path,
) -> None:
    _launched(env, sqlite_template)
    done = rehab(env, *CLOSE, "--reason", "transferred", "--to", "Vilnius Shelter", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "case": "BC-2026-0042",
        "state": "cancelled",
        "reason": "transferred",
        "to": "Vilnius Shelter",
    }
    status = json.loads(rehab(env, "plan", "status", "BC-2026-0042", "--json").stdout)
    assert status["state"] == "cancelled"
    assert (status["ended_reason"], status["closed_to"]) == ("transferred", "Vilnius Shelter")
    shown = rehab(env, "plan", "status", "BC-2026-0042")
    assert "reason: closed: transferred" in shown.stdout
    assert "transferred to: Vilnius Shelter" in shown.stdout


def test_goals_met_with_a_note_from_stdin_completes_the_case(
    env: dict[str, str], sqlite_template: Path
) -> None:
    _launched(env, sqlite_template)
    done = rehab(env, *CLOSE, "--reason", "goals-met", "--note", "-", stdin="all done\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("BC-2026-0042: closed (goals-met); case completed; plan ")


def test_a_wrong_reason_is_one_line_naming_the_valid_ones(
    env: dict[str, str], sqlite_template: Path
) -> None:
    _launched(env, sqlite_template)
    done = rehab(env, *CLOSE, "--reason", "bored")
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.strip() == (
        "error: case BC-2026-0042 cannot be closed for --reason 'bored': the reason is one of "
        "moved-away, lost-contact, transferred, deceased, goals-met; nothing was changed"
    )


def test_to_without_a_transfer_is_one_line_and_changes_nothing(
    env: dict[str, str], sqlite_template: Path
) -> None:
    _launched(env, sqlite_template)
    done = rehab(env, *CLOSE, "--reason", "moved-away", "--to", "Somewhere")
    assert done.returncode == 1 and len(done.stderr.strip().splitlines()) == 1
    assert "--to is only for --reason transferred" in done.stderr
    status = json.loads(rehab(env, "plan", "status", "BC-2026-0042", "--json").stdout)
    assert status["state"] == "active" and status["ended_reason"] is None


def test_closing_a_closed_case_is_refused_naming_it(
    env: dict[str, str], sqlite_template: Path
) -> None:
    _launched(env, sqlite_template)
    assert rehab(env, *CLOSE, "--reason", "deceased").returncode == 0
    again = rehab(env, *CLOSE, "--reason", "moved-away")
    assert again.returncode == 1
    assert "case BC-2026-0042 is cancelled: cannot close it" in again.stderr
