"""Every command uses what the engine of its REHAB_HOME uses: the directories (the copies
`rehab up --examples` sends through) and the server's address that `rehab up` recorded, unless
its own environment names them; and it names the file it actually read. The command runs in
this process, and as a real process where it talks to Prefect; the mail catcher `rehab up
--examples` starts is started here the same way."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from casework.services import engine, plan_changes
from casework.store.db import open_store
from flows.home.engine_record import read_record, record_file, write_record
from flows.processes.children import stop
from flows.processes.up_examples import mail_for_examples
from flows.settings import EXAMPLES, Settings
from plans.directories import Directories
from plans.loading import load_plan
from tests.cli import Done, rehab_process
from tests.cli import rehab as run
from tests.conftest import T0
from tests.e2e.harness import free_port

CODE = "BC-2026-0042"


def rehab(home: Path, *args: str, **env: str) -> Done:
    """The command with nothing in its rehab environment but REHAB_HOME and `env`."""
    return run({"REHAB_HOME": str(home), **env}, *args)


def rehab_real(home: Path, *args: str, **env: str) -> Done:
    """The same as a real process, whose Prefect settings are read after the record is (as
    the installed command's are) and nothing else in its environment."""
    return rehab_process(
        {"REHAB_HOME": str(home), "PATH": "/usr/bin:/bin", **env}, *args, timeout=300
    )


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    return home


@pytest.fixture
def examples_up(home: Path) -> Iterator[Path]:
    """What `rehab up --examples` sets up besides Prefect: the mail catcher, the directories'
    copies sending there, and its record of them."""
    settings = Settings(home=home, PREFECT_API_URL=None)
    write_record(settings, partners_file=settings.partners_file, staff_file=settings.staff_file)
    with (home / "mail-catcher.log").open("a") as log:
        catcher, runner_env = mail_for_examples(settings, log, examples=True, preexec=lambda: None)
    assert catcher is not None
    try:
        yield Path(runner_env["REHAB_PARTNERS_FILE"])
    finally:
        stop(catcher, "the mail catcher", timeout=10)


def test_partners_check_under_rehab_up_examples_checks_the_copies_the_engine_sends_through(
    home: Path, examples_up: Path
) -> None:
    done = rehab(home, "partners", "check")
    assert done.returncode == 0, done.stdout + done.stderr
    assert examples_up == home / "example-directories" / "partners.yaml"
    assert done.stdout.strip().splitlines()[-1].endswith(f"channels work ({examples_up})")
    received = (home / "mail" / "received.log").read_text()
    assert received.count("\n") == len(done.stdout.strip().splitlines()) - 1


def test_a_directory_named_by_the_environment_wins_over_the_record(
    home: Path, examples_up: Path
) -> None:
    shipped = EXAMPLES / "partners.yaml"
    done = rehab(home, "partners", "check", "brest-clinic", REHAB_PARTNERS_FILE=str(shipped))
    assert done.returncode == 1
    assert f"fix them in {shipped}" in done.stderr


def test_the_record_is_private_to_the_operator_and_names_what_rehab_up_uses(
    home: Path, examples_up: Path
) -> None:
    assert record_file(home).stat().st_mode & 0o777 == 0o600
    record = read_record(home)
    assert record is not None and record.partners_file == examples_up
    assert record.prefect_api_url is None and record.prefect_port == Settings().prefect_port


def test_plan_status_prints_the_address_of_the_door_rehab_up_started_on_another_port(
    home: Path, directories: Directories
) -> None:
    port = free_port()
    write_record(
        Settings(home=home, port=port, prefect_port=free_port(), PREFECT_API_URL=None),
        partners_file=EXAMPLES / "partners.yaml",
        staff_file=EXAMPLES / "staff.yaml",
    )
    store = open_store(f"sqlite:///{home / 'cases.db'}", home / "secret.key")
    try:
        plan = load_plan(EXAMPLES / f"{CODE}.yaml", directories).without_person()
        plan_changes.launch(
            store, directories, plan=plan, by="n-zdolnik", now=T0, approval_required=False
        )
        engine.set_flow_run(store, code=CODE, flow_run_id="run-1", now=T0)
    finally:
        store.dispose()
    shown = rehab_real(home, "plan", "status", CODE)
    assert f"http://127.0.0.1:{port}/runs/flow-run/run-1" in shown.stdout, shown.stdout
    own = rehab_real(home, "plan", "status", CODE, REHAB_PORT="4321")
    assert "http://127.0.0.1:4321/runs/flow-run/run-1" in own.stdout, "the environment wins"


def test_a_record_that_cannot_be_read_leaves_the_environment_and_defaults_in_charge(
    home: Path,
) -> None:
    record_file(home).write_text("{not json")
    record_file(home).chmod(0o600)
    assert read_record(home) is None
    done = rehab(home, "partners", "check", "nope", "--json")
    assert done.returncode == 1
    assert json.loads(done.stdout)["file"] == str(EXAMPLES / "partners.yaml")
