"""Plans survive a killed runner and server, and a redeploy of changed flow code."""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from sqlalchemy import create_engine, text

from tests.conftest import EXAMPLES, ROOT
from tests.e2e.harness import PrefectServer, Rehab, wait_for
from tests.endpoints import SmtpServer

pytestmark = pytest.mark.e2e

PLAN = """
case: {code}
manager: n-zdolnik
steps:
  - {{id: first, domain: housing, title: Crisis room, partner: brest-crisis-room,
      duration: 24s, check_ins: {{every: 6s, grace: 60s, remind: [2s]}}}}
  - {{id: second, domain: medical, title: Check, partner: brest-clinic, after: [first],
      duration: 4s}}
"""


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


def smtp_directories(smtp: SmtpServer, folder: Path) -> dict[str, str]:
    """The example directories with every channel pointed at the test's SMTP server."""
    files = {}
    for name in ("partners", "staff"):
        data = yaml.safe_load((EXAMPLES / f"{name}.yaml").read_text())
        for key, entry in data[name].items():
            entry["notify"] = [smtp.url(f"{key}@{name}.example")]
            entry.pop("quiet_hours", None)  # the test must not depend on the time of day
        path = folder / f"{name}.yaml"
        path.write_text(yaml.safe_dump(data))
        files[f"REHAB_{name.upper()}_FILE"] = str(path)
    return files


@pytest.fixture
def own_engine(tmp_path: Path, smtp: SmtpServer) -> Iterator[Rehab]:
    """A Prefect server and runner of this test's own, free to be killed; messages go to a
    real SMTP server."""
    server = PrefectServer(tmp_path / "prefect").start()
    engine = Rehab(
        tmp_path / "home",
        server,
        REHAB_REQUIRE_APPROVAL="false",
        REHAB_SEND_RETRY_BASE="1s",
        **smtp_directories(smtp, tmp_path),
    )
    engine.home.mkdir(mode=0o700)  # rehab refuses a home that others may read
    try:
        yield engine
    finally:
        engine.stop_runner(signal.SIGKILL)
        server.stop(signal.SIGKILL)


def kill_everything(engine: Rehab) -> None:
    """SIGKILL the runner, every flow-run process it holds, and the Prefect server."""
    assert engine.runner is not None and engine.server.process is not None
    for pid in engine.runner_children():
        subprocess.run(["kill", "-9", str(pid)], check=False)
    engine.stop_runner(signal.SIGKILL)
    engine.server.stop(signal.SIGKILL)


def audit_counts(engine: Rehab, code: str) -> Counter[tuple[str, str]]:
    db = create_engine(f"sqlite:///{engine.home / 'cases.db'}")
    with db.connect() as conn:
        rows = conn.execute(
            text("SELECT action, detail FROM audit_log WHERE case_code = :c"), {"c": code}
        ).all()
    db.dispose()
    return Counter((action, str(detail)) for action, detail in rows)


def outbox_rows(engine: Rehab) -> list[tuple[str, str, str]]:
    db = create_engine(f"sqlite:///{engine.home / 'cases.db'}")
    with db.connect() as conn:
        rows = conn.execute(text("SELECT key, kind, status FROM outbox")).all()
    db.dispose()
    return [(r.key, r.kind, r.status) for r in rows]


def test_a_plan_continues_after_the_runner_and_server_are_killed(
    own_engine: Rehab, smtp: SmtpServer
) -> None:
    engine, code = own_engine, "E2E-KILL-1"
    engine.start_runner()
    engine.rehab("plan", "launch", str(engine.write_plan(code, PLAN.format(code=code))))
    wait_for(
        lambda: len(engine.status(code)["steps"][0]["check_ins"]) >= 1,
        timeout=90,
        what="the first check-in",
    )
    kill_everything(engine)  # mid-plan, wherever the run happens to be

    # The case manager's work goes on while the engine is down: nothing is lost.
    engine.rehab("checkin", "record", code, "first", "--outcome", "attended", "--by", "n-zdolnik")
    time.sleep(8)  # time passes: a check-in falls due while nothing runs
    engine.server.start()
    engine.start_runner()
    wait_for(
        lambda: engine.status(code)["state"] == "completed",
        timeout=180,
        what="the plan to complete after the restart",
    )
    run_id = engine.status(code)["flow_run_id"]
    wait_for(
        lambda: engine.run_state(run_id) == "COMPLETED", timeout=60, what="its run to be Completed"
    )

    status = engine.status(code)
    first = status["steps"][0]
    assert [s["state"] for s in status["steps"]] == ["completed", "completed"]
    assert first["check_ins"][0]["outcome"] == "attended"
    assert len(first["check_ins"]) == 3  # at 6, 12 and 18 s of a 24 s step, each once
    wait_for(
        lambda: all(status in ("sent", "withdrawn") for _, _, status in outbox_rows(engine)),
        timeout=60,
        what="every message to be sent (or withdrawn with its step)",
    )
    rows = outbox_rows(engine)
    sent = Counter(kind for _, kind, status in rows if status == "sent")
    # The 4 s second step may have started and ended while the engine was down: then its
    # referral is withdrawn, not sent after the fact, and the case manager is told instead.
    told_clinic = sent["referral"] == 2
    assert sent["referral"] + sent["referral-withdrawn"] == 2 and sent["plan-completed"] == 1, sent
    assert len(smtp.received) == sum(sent.values()), "each message delivered exactly once"
    assert [m.subject for m in smtp.to("brest-clinic@partners.example")] == (
        [f"Направление {code}: Check"] if told_clinic else []
    )
    assert engine.status(code)["steps"][1]["delivered"] is told_clinic
    counts = audit_counts(engine, code)
    started = {k: v for k, v in counts.items() if k[0] == "step-started"}
    assert sorted(started.values()) == [1, 1], f"a step started twice: {started}"
    due = sum(v for k, v in counts.items() if k[0] == "check-in-due")
    assert due == 3, f"check-ins counted {due} times for 3 check-ins"


def test_a_suspended_plan_resumes_on_changed_flow_code(own_engine: Rehab, tmp_path: Path) -> None:
    engine, code = own_engine, "E2E-REDEPLOY-1"
    engine.start_runner()
    engine.rehab("plan", "launch", str(engine.write_plan(code, PLAN.format(code=code))))
    wait_for(
        lambda: engine.status(code)["steps"][0]["state"] == "open",
        timeout=90,
        what="the first step to open",
    )
    engine.stop_runner()  # a clean stop: runs in flight finish first
    run_id = engine.status(code)["flow_run_id"]
    assert engine.run_state(run_id) in ("PAUSED", "SCHEDULED"), "nothing left Cancelled"

    # The new release: the same project with a changed plan flow.
    release = tmp_path / "release-2"
    for package in ("flows", "casework", "plans", "notifications"):
        shutil.copytree(ROOT / package, release / package)
    plan_flow = release / "flows" / "plan_flow.py"
    source = plan_flow.read_text()
    marker = "    now = reconcile(case)\n"
    assert marker in source
    plan_flow.write_text(
        source.replace(marker, '    get_run_logger().info("release 2 at work")\n' + marker)
    )
    engine.start_runner(cwd=release, pythonpath=release)

    wait_for(
        lambda: engine.status(code)["state"] == "completed",
        timeout=180,
        what="the plan to complete on the new code",
    )
    # Time's work was done by the new release's clock; the run itself executes to end.
    wait_for(
        lambda: engine.run_state(run_id) == "COMPLETED",
        timeout=120,
        what="the plan's run to end on the new code",
    )

    def new_code_logged() -> bool:
        logs = engine.api(
            "POST", "/logs/filter", {"logs": {"flow_run_id": {"any_": [run_id]}}, "limit": 200}
        )
        return any("release 2 at work" in log["message"] for log in logs)

    wait_for(new_code_logged, timeout=30, what="the new code's log line")
    assert [s["state"] for s in engine.status(code)["steps"]] == ["completed", "completed"]
    counts = audit_counts(engine, code)
    assert sum(v for k, v in counts.items() if k[0] == "step-started") == 2
