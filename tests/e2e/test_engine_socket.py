"""The engine's local socket under a real `rehab up`: `rehab plan launch` is done by the running
engine, in a process that imports neither Prefect nor SQLAlchemy, with the output, errors and
exit codes of the command run on its own; a caller with other settings, or asking for
tracebacks, is declined and the command runs itself."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import PrefectServer, free_port, start_up, wait_for
from tests.e2e.test_up import rehab_env

pytestmark = pytest.mark.e2e

PLAN = """
case: {code}
manager: n-zdolnik
steps:
  - {{id: stay, domain: housing, title: Shelter, partner: brest-social-services, duration: 1h}}
"""
# The `rehab` entry point, telling on exit which heavy packages its process imported.
CLIENT = """
import atexit, signal, sys
# Ctrl-C as at a terminal, even when the suite was started in the background (SIGINT ignored).
signal.signal(signal.SIGINT, signal.default_int_handler)
atexit.register(lambda: print("imported:", *sorted(
    m for m in ("prefect", "sqlalchemy", "apprise", "flows.cli") if m in sys.modules
), file=sys.stderr))
sys.argv = ["rehab", *sys.argv[1:]]
from flows.engine_socket.client import main
main()
"""


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """`rehab up` (no approval needed, so a launch starts its plan at once); its environment."""
    home = tmp_path_factory.mktemp("socket") / "home"
    env = rehab_env(home, free_port()) | {"REHAB_REQUIRE_APPROVAL": "false"}
    process, _ = start_up(env)
    try:
        yield env
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=240)


def rehab(
    env: dict[str, str], cwd: Path, *args: str, **more: str
) -> tuple[int, str, str, list[str]]:
    """`rehab ARGS` from `cwd`: exit code, stdout, stderr (less the import line), and the
    heavy packages its process imported."""
    done = subprocess.run(
        [sys.executable, "-c", CLIENT, *args],
        env=env | more,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    *err, imported = done.stderr.splitlines()
    assert imported.startswith("imported:"), done.stderr
    return done.returncode, done.stdout, "\n".join(err), imported.split()[1:]


def plan_file(folder: Path, code: str, text: str = PLAN) -> str:
    """A plan file in `folder`, named relative to it (as an operator types it there)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{code}.yaml").write_text(text.format(code=code))
    return f"{code}.yaml"


def test_the_running_engine_launches_a_plan_for_a_process_that_imports_no_prefect(
    up: dict[str, str], tmp_path: Path
) -> None:
    code, out, err, imported = rehab(up, tmp_path, "plan", "launch", plan_file(tmp_path, "SK-1"))
    assert (code, err, imported) == (0, "", []), "served: nothing heavy imported"
    case, _, _, run_id, url = out.split()
    assert case == "SK-1" and url.endswith(f"/runs/flow-run/{run_id}")
    code, out, err, imported = rehab(up, tmp_path, "plan", "status", "SK-1", "--json")
    assert code == 0 and "sqlalchemy" in imported, "any other command runs itself"
    assert json.loads(out)["flow_run_id"] == run_id
    assert (Path(up["REHAB_HOME"]) / "engine.sock").stat().st_mode & 0o777 == 0o600


def test_a_launch_refused_reads_the_same_whether_the_engine_or_the_command_did_it(
    up: dict[str, str], tmp_path: Path
) -> None:
    broken = plan_file(tmp_path, "SK-BAD", PLAN.replace("duration: 1h", "duration: soon"))
    again = plan_file(tmp_path, "SK-2")
    assert rehab(up, tmp_path, "plan", "launch", again)[0] == 0
    for args in (
        ("plan", "launch", broken),
        ("plan", "launch", again),
        ("plan", "launch", again, "--json"),
        ("plan", "launch", broken, again),
        ("plan", "launch", "no-such-file.yaml"),
        ("plan", "launch", again, "--by", "nobody-we-know"),
    ):
        served = rehab(up, tmp_path, *args)
        itself = rehab(up, tmp_path, *args, REHAB_ENGINE_SOCKET="off")
        assert served[3] == [] and "sqlalchemy" in itself[3], args
        assert served[:3] == itself[:3], args
        assert served[0] == 1, args
    assert "SK-BAD.yaml: steps[0].duration" in rehab(up, tmp_path, "plan", "launch", broken)[2]


def test_the_engine_declines_other_settings_and_tracebacks_and_the_command_runs_itself(
    up: dict[str, str], tmp_path: Path
) -> None:
    code, _, err, imported = rehab(
        up, tmp_path, "plan", "launch", plan_file(tmp_path, "SK-3"), REHAB_DEBUG="1"
    )
    assert code == 0 and "prefect" in imported, err
    other = {"REHAB_CLOCK_INTERVAL": "7s"}  # not the engine's: its settings are its own
    code, _, err, imported = rehab(
        up, tmp_path, "plan", "launch", plan_file(tmp_path, "SK-4"), **other
    )
    assert code == 0 and "prefect" in imported, err
    code, _, _, imported = rehab(up, tmp_path, "plan", "launch", "--help")
    assert code == 0 and "flows.cli" in imported, "help is printed where it is asked for"


TALK = """
case: {code}
manager: n-zdolnik
steps:
  - {{id: talk, domain: psychological, title: Talk, partner: brest-child-psychologist,
      check_ins: {{every: 1w}}}}
"""


def test_plans_launched_together_by_the_engine_each_wait_in_prefect_with_their_message(
    up: dict[str, str], tmp_path: Path
) -> None:
    files = [plan_file(tmp_path, f"SK-M{i}") for i in range(3)]
    files += [plan_file(tmp_path, f"SK-T{i}", TALK) for i in range(2)]
    code, out, err, imported = rehab(up, tmp_path, "plan", "launch", *files, "--json")
    assert (code, err, imported) == (0, "", []), err
    launched = {o["case"]: o["flow_run_id"] for o in json.loads(out)}
    assert len(launched) == 5 and all(launched.values())
    home = Path(up["REHAB_HOME"])
    prefect = PrefectServer(home / "unused", int(up["REHAB_PREFECT_PORT"]))
    auth = (home / "prefect-auth").read_text().strip()
    found = prefect.call(
        "POST",
        "/flow_runs/filter",
        {"flow_runs": {"id": {"any_": list(launched.values())}}},
        auth=auth,
    ).json()
    shown = {r["name"]: (r["state"]["type"], r["state"]["message"]) for r in found}
    assert all(r["start_time"] for r in found), "started at launch: never shown late"
    assert {state for state, _ in shown.values()} == {"PAUSED"}
    stays = {shown[f"SK-M{i}"][1] for i in range(3)}
    talks = {shown[f"SK-T{i}"][1] for i in range(2)}
    assert len(stays) == 1 and len(talks) == 1 and stays != talks, shown
    assert "talk" in talks.pop(), "each run says what its own plan waits for"


def test_a_bulk_launch_whose_caller_left_stops_at_its_next_progress_line(
    up: dict[str, str], tmp_path: Path
) -> None:
    # Four chunks and one: the next chunk is recorded while the last two are started, so
    # the launch told at 100 that its caller left has recorded (and started) 200.
    files = [plan_file(tmp_path, f"SK-C{i:03d}") for i in range(201)]
    caller = subprocess.Popen(
        [sys.executable, "-c", CLIENT, "plan", "launch", *files],
        env=up,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert caller.stderr is not None
    first = caller.stderr.readline()
    assert first.startswith("launched 50/201"), first  # shown as it happens, not at the end
    caller.send_signal(signal.SIGINT)  # Ctrl-C
    caller.communicate(timeout=60)

    def launched() -> int:
        _, out, _, _ = rehab(up, tmp_path, "plan", "list", "--json")
        return sum(c["case"].startswith("SK-C") and bool(c["flow_run_id"]) for c in json.loads(out))

    time.sleep(3)  # the chunks under way when the caller left are done by then
    wait_for(lambda: launched() == 200, timeout=60, what="the chunks under way, each with its runs")
    time.sleep(3)
    assert launched() == 200, "the last plan was never launched: the command stopped"
