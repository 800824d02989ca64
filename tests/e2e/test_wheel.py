"""The project as an operator installs it: a wheel built from the sources, installed into a
fresh virtual environment outside the checkout, delivers a referral through apprise."""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.endpoints import SmtpServer

SCRIPT = """
import json, sys
from datetime import UTC, datetime
from pathlib import Path

import casework, notifications
from casework.services import engine, plan_changes
from casework.store.db import open_store
from notifications.notifier import AppriseNotifier
from notifications.outbox import Policy, send_due
from plans.directories import Directories, PartnerDirectory, StaffDirectory
from plans.model import Plan

smtp_url, home = sys.argv[1], Path(sys.argv[2])
partners = PartnerDirectory.model_validate({"partners": {"clinic": {
    "name": "Clinic", "kind": "healthcare", "region": "Brest", "language": "ru",
    "notify": [smtp_url]}}})
staff = StaffDirectory.model_validate({"default_supervisor": "boss", "staff": {
    "cm": {"name": "Case Manager", "role": "case-manager", "notify": []},
    "boss": {"name": "Director", "role": "supervisor", "notify": []}}})
dirs = Directories(partners, staff)
plan = Plan.model_validate({"case": "BC-WHEEL-1", "manager": "cm", "steps": [
    {"id": "check", "domain": "medical", "title": "Medical check", "partner": "clinic"}]})
store = open_store(f"sqlite:///{home / 'cases.db'}", home / "secret.key")
now = datetime.now(UTC)
plan_changes.launch(store, dirs, plan=plan, by="cm", now=now, approval_required=False)
engine.reconcile(store, code="BC-WHEEL-1", now=now)
sent = send_due(store, dirs, AppriseNotifier(), now=now, policy=Policy())
print(json.dumps({"sent": dict(sent), "from": [casework.__file__, notifications.__file__]}))
"""


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


def build_wheel(into: Path, scratch: Path) -> Path:
    """A wheel from a copy of the sources, so the build leaves nothing in the checkout."""
    source = scratch / "source"
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", "*.egg-info", "build", "__pycache__", ".*_cache", "bench", "tests"
        ),
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "-w",
            str(into),
            str(source),
        ],
        check=True,
        timeout=600,
    )
    [wheel] = into.glob("rehab-*.whl")
    return wheel


def fresh_venv(path: Path, wheel: Path) -> Path:
    """A new virtual environment holding the wheel. Its dependencies are read from the test
    environment's site-packages as a plain path: none of that directory's .pth files run, so
    the checkout's editable install is not visible there."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    python = path / "bin" / "python"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--quiet",
            "--no-deps",
            str(wheel),
        ],
        check=True,
        timeout=600,
    )
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    (Path(purelib) / "dependencies.pth").write_text(site.getsitepackages()[0] + "\n")
    return python


def test_a_wheel_installed_outside_the_checkout_delivers_a_referral(
    tmp_path: Path, smtp: SmtpServer
) -> None:
    wheel = build_wheel(tmp_path / "dist", tmp_path)
    python = fresh_venv(tmp_path / "venv", wheel)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "REHAB_"))}
    env["REHAB_HOME"] = str(outside / "home")
    done = subprocess.run(
        [
            str(python),
            "-c",
            textwrap.dedent(SCRIPT),
            smtp.url("intake@clinic.example"),
            str(outside),
        ],
        cwd=outside,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert all(path.startswith(str(tmp_path / "venv")) for path in result["from"]), (
        "the installed wheel ran, not the checkout"
    )
    assert result["sent"] == {"sent": 1}
    [mail] = smtp.to("intake@clinic.example")
    assert mail.subject == "Направление BC-WHEEL-1: Medical check"

    # The templates and example directories ship too: a plan can be started from one.
    rehab = tmp_path / "venv" / "bin" / "rehab"
    new = subprocess.run(
        [str(rehab), "plan", "new", "--template", "acute-crisis", "--case", "BC-WHEEL-2"],
        cwd=outside,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert new.returncode == 0, new.stderr
    assert "case: BC-WHEEL-2" in new.stdout
