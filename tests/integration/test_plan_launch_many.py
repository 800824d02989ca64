"""`rehab plan launch FILE...`: several plans in one go, every file checked first, each launch
its own, one refusal stopping no other. The real command through click's runner and a real
case store (SQLite); the Prefect side is the recording fake, reached as the real one is."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from casework.services import plan_launches
from casework.services.unit_of_work import Changed
from flows.app import App
from flows.cli import plan_launch
from flows.prefect import engine_client
from flows.prefect.fake import RecordingPrefect
from tests.conftest import EXAMPLES
from tests.integration.test_cli import _launched, rehab

PLAN = (EXAMPLES / "BC-2026-0042.yaml").read_text()


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"REHAB_HOME": str(tmp_path / "home"), "PREFECT_API_URL": "http://127.0.0.1:9/api"}


@pytest.fixture
def prefect(monkeypatch: pytest.MonkeyPatch) -> Iterator[RecordingPrefect]:
    """The engine up (its health and auth checks pass) with the fake as its Prefect side."""
    fake = RecordingPrefect()
    monkeypatch.setattr(engine_client, "connect", engine_client.Engine)
    monkeypatch.setattr(App, "prefect", property(lambda self: fake))
    yield fake


def plans(folder: Path, *codes: str) -> list[str]:
    """A plan file per code (the shipped example, its case code changed)."""
    folder.mkdir(exist_ok=True)
    files = []
    for code in codes:
        file = folder / f"{code}.yaml"
        file.write_text(PLAN.replace("case: BC-2026-0042", f"case: {code}"))
        files.append(str(file))
    return files


def listed(env: dict[str, str]) -> set[str]:
    return {c["case"] for c in json.loads(rehab(env, "plan", "list", "--json").stdout)}


def test_several_files_are_all_launched_each_with_its_run(
    env: dict[str, str], prefect: RecordingPrefect, tmp_path: Path
) -> None:
    files = plans(tmp_path / "p", "BC-1", "BC-2", "BC-3")
    done = rehab(env, "plan", "launch", *files, "--json")
    assert done.returncode == 0, done.stderr
    outcomes = json.loads(done.stdout)
    assert [o["file"] for o in outcomes] == files
    assert [o["case"] for o in outcomes] == ["BC-1", "BC-2", "BC-3"]
    assert all(
        o["state"] == "awaiting-approval" and o["flow_run_id"] and o["url"] for o in outcomes
    )
    assert sorted(prefect.called("start_plan_run")) == ["BC-1", "BC-2", "BC-3"]
    assert prefect.called("start_plan_runs") == ["3"], "their runs made in one request"
    assert prefect.called("open_decision_runs") == ["3"], "their approval forms in one"
    assert len(prefect.called("post_logs")) == 1, "their first wakes' lines in one"
    assert listed(env) == {"BC-1", "BC-2", "BC-3"}


def test_without_json_each_plan_is_one_line_naming_its_file(
    env: dict[str, str], prefect: RecordingPrefect, tmp_path: Path
) -> None:
    files = plans(tmp_path / "p", "BC-1", "BC-2")
    done = rehab(env, "plan", "launch", *files)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert [line.split(": ", 1)[0] for line in lines] == files
    assert "BC-2  flow run run-BC-2-1" in lines[1]


def test_one_invalid_file_launches_nothing_and_every_problem_is_listed(
    env: dict[str, str], prefect: RecordingPrefect, tmp_path: Path
) -> None:
    good, bad, worse = plans(tmp_path / "p", "BC-1", "BC-2", "BC-3")
    Path(bad).write_text(PLAN.replace("manager: n-zdolnik", "manager: nobody"))
    Path(worse).write_text("case: BC-3\nsteps: nope\n")
    done = rehab(env, "plan", "launch", good, bad, worse)
    assert done.returncode == 1
    problems = done.stderr.strip().splitlines()
    assert any(p.startswith(f"{bad}: manager: ") for p in problems), done.stderr
    assert sum(p.startswith(f"{worse}: ") for p in problems) >= 2, "every problem, not the first"
    assert not any(p.startswith(f"{good}: ") for p in problems)
    assert "nothing was launched" in problems[-1] and "Traceback" not in done.stderr
    assert prefect.calls == [] and listed(env) == set()


def test_a_plan_refused_at_launch_stops_no_other_and_its_error_is_said(
    env: dict[str, str], prefect: RecordingPrefect, tmp_path: Path, sqlite_template: Path
) -> None:
    _launched(env, sqlite_template, "BC-2")  # already active: its launch is refused
    files = plans(tmp_path / "p", "BC-1", "BC-2", "BC-3")
    done = rehab(env, "plan", "launch", *files, "--json")
    assert done.returncode == 1
    first, refused, third = json.loads(done.stdout)
    assert first["state"] == third["state"] == "awaiting-approval" and first["flow_run_id"]
    assert refused["file"] == files[1] and refused["case"] == "BC-2"
    assert "already" in refused["error"] and "flow_run_id" not in refused
    assert sorted(prefect.called("start_plan_run")) == ["BC-1", "BC-3"]
    plain = rehab(env, "plan", "launch", *plans(tmp_path / "q", "BC-4", "BC-2"))
    assert plain.returncode == 1
    assert f"{tmp_path / 'q' / 'BC-2.yaml'}: error: " in plain.stderr
    assert "1 of 2 launched with their runs" in plain.stderr and "BC-4  flow run" in plain.stdout


def test_a_run_not_created_leaves_the_plan_recorded_for_the_clock(
    env: dict[str, str], prefect: RecordingPrefect, tmp_path: Path
) -> None:
    prefect.failing.add("start_plan_run")
    done = rehab(env, "plan", "launch", *plans(tmp_path / "p", "BC-1", "BC-2"), "--json")
    assert done.returncode == 1
    outcomes = json.loads(done.stdout)
    assert all(o["state"] == "awaiting-approval" and o["flow_run_id"] is None for o in outcomes)
    assert all("is recorded" in o["error"] for o in outcomes)
    assert listed(env) == {"BC-1", "BC-2"}


def test_one_file_prints_what_it_always_printed(
    env: dict[str, str], prefect: RecordingPrefect, tmp_path: Path
) -> None:
    [one] = plans(tmp_path / "p", "BC-1")
    done = rehab(env, "plan", "launch", one, "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "case": "BC-1",
        "state": "awaiting-approval",
        "flow_run_id": "run-BC-1-1",
        "url": "http://127.0.0.1:4200/runs/flow-run/run-BC-1-1",
    }
    [two] = plans(tmp_path / "q", "BC-2")
    line = rehab(env, "plan", "launch", two).stdout
    assert line == (
        "BC-2  flow run run-BC-2-1  http://127.0.0.1:4200/runs/flow-run/run-BC-2-1"
        "  (waiting for the supervisor's approval)\n"
    )


def test_a_large_batch_shows_its_progress_on_stderr(
    env: dict[str, str], prefect: RecordingPrefect, tmp_path: Path
) -> None:
    codes = [f"BC-{n}" for n in range(120)]
    done = rehab(env, "plan", "launch", *plans(tmp_path / "p", *codes), "--json")
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == ["launched 50/120", "launched 100/120", "launched 120/120"]
    assert len(json.loads(done.stdout)) == 120


def test_a_chunks_runs_are_started_while_the_next_chunk_is_recorded_and_outcomes_keep_order(
    env: dict[str, str], tmp_path: Path, sqlite_template: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorded_later = threading.Event()
    overlapped: list[bool] = []

    class SlowServer(RecordingPrefect):
        """Creates the first chunk's runs only once the next chunk is being recorded."""

        def start_plan_runs(
            self, plans: Sequence[tuple[str, int, list[str], str | None]]
        ) -> dict[str, str]:
            if plans[0][0] == "BC-3":
                overlapped.append(recorded_later.wait(timeout=30))
            return super().start_plan_runs(plans)

    fake = SlowServer()
    monkeypatch.setattr(engine_client, "connect", engine_client.Engine)
    monkeypatch.setattr(App, "prefect", property(lambda self: fake))
    monkeypatch.setattr(plan_launch, "CHUNK", 2)
    launch_all = plan_launches.launch_all

    def recording(*args: Any, **kwargs: Any) -> list[plan_launches.Outcome]:
        outcomes = launch_all(*args, **kwargs)
        if any(isinstance(o, Changed) and o.code == "BC-5" for o in outcomes):
            recorded_later.set()
        return outcomes

    monkeypatch.setattr(plan_launches, "launch_all", recording)
    for code in ("BC-1", "BC-2"):  # already active: the first chunk is all refused
        _launched(env, sqlite_template, code)
    files = plans(tmp_path / "p", *[f"BC-{n}" for n in range(1, 8)])
    done = rehab(env, "plan", "launch", *files, "--json")
    assert done.returncode == 1, done.stdout
    assert overlapped == [True], "the next chunk was recorded while the first one's runs waited"
    outcomes = json.loads(done.stdout)
    assert [o["file"] for o in outcomes] == files
    assert ["flow_run_id" in o for o in outcomes] == [False, False, *[True] * 5], outcomes
    assert [o.get("flow_run_id") for o in outcomes[2:]] == [f"run-BC-{n}-1" for n in range(3, 8)]
    assert sorted(fake.called("start_plan_runs")) == ["1", "2", "2"], "a request a chunk"
