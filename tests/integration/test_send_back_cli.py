"""`rehab plan send-back CODE --by STAFF --comment -`: the comment from stdin (never argv), the
plan sent back as its supervisor asks, `plan status --json` saying by whom and when."""

from __future__ import annotations

import json
from pathlib import Path

from casework.services import plan_changes
from casework.store.db import open_store
from plans.loading import load_directories, load_plan
from tests.conftest import EXAMPLES, T0
from tests.integration.test_cli import env, rehab

__all__ = ["env"]  # the fixture, used by name

CODE = "BC-2026-0042"


def _awaiting(env: dict[str, str]) -> None:
    home = Path(env["REHAB_HOME"])
    store = open_store(f"sqlite:///{home / 'cases.db'}", home / "secret.key")
    try:
        directories = load_directories(EXAMPLES / "partners.yaml", EXAMPLES / "staff.yaml")
        plan = load_plan(EXAMPLES / f"{CODE}.yaml", directories)
        plan_changes.launch(
            store, directories, plan=plan, by="n-zdolnik", now=T0, approval_required=True
        )
    finally:
        store.dispose()


def test_the_operator_sends_a_plan_back_on_the_supervisors_behalf_with_a_comment_from_stdin(
    env: dict[str, str],
) -> None:
    _awaiting(env)
    command = ("plan", "send-back", CODE.lower(), "--by", "l-istomova")
    on_argv = rehab(env, *command, "--comment", "needs a date")
    assert on_argv.returncode == 1 and "--comment takes no text on the command line" in (
        on_argv.stderr
    )
    empty = rehab(env, *command, "--comment", "-", stdin=" \n")
    assert empty.returncode == 1 and "nothing was written" in empty.stderr
    by_manager = rehab(
        env, "plan", "send-back", CODE, "--by", "n-zdolnik", "--comment", "-", stdin="why\n"
    )
    assert by_manager.returncode == 1 and "Traceback" not in by_manager.stderr
    assert len(by_manager.stderr.strip().splitlines()) == 1
    done = rehab(env, *command, "--comment", "-", stdin="The shelter step needs a date.\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"{CODE}: sent back to its case manager by l-istomova")
    shown = rehab(env, "plan", "status", CODE).stdout
    assert "sent back by l-istomova" in shown and "Traceback" not in shown
    status = json.loads(rehab(env, "plan", "status", CODE, "--json").stdout)
    assert status["state"] == "awaiting-approval"
    assert status["sent_back"]["by"] == "l-istomova" and status["sent_back"]["at"]
    rows = json.loads(rehab(env, "audit", "show", CODE, "--json").stdout)
    assert "plan-sent-back" in {r["action"] for r in rows}
    again = rehab(env, *command, "--comment", "-", stdin="twice\n")
    assert again.returncode == 1 and "sent back already" in again.stderr
