"""Policy is the programme's, not the caller's (security.md rule 5), and the CLI is the
operator's tool (rule 4)."""

from __future__ import annotations

import os
import pwd
from pathlib import Path

import pytest
from sqlalchemy import select

from casework.services.programme import approval_required
from casework.store.db import Store
from casework.store.tables import AuditRow
from plans.directories import Directories, StaffDirectory
from tests.cli import Done, rehab, rehab_process
from tests.conftest import EXAMPLES, T0


def programme(directories: Directories, approval: str | None) -> Directories:
    staff = directories.staff.model_copy(update={"approval": approval})
    return Directories(directories.partners, StaffDirectory.model_validate(staff.model_dump()))


def policy_changes(store: Store) -> list[tuple[str | None, str]]:
    with store.session() as session:
        rows = session.scalars(select(AuditRow).where(AuditRow.action == "approval-policy"))
        return [(r.detail["from"], r.detail["to"]) for r in rows]


def test_the_programmes_configuration_decides_and_every_change_is_audited(
    store: Store, directories: Directories
) -> None:
    silent, not_required = programme(directories, None), programme(directories, "not-required")
    assert approval_required(store, silent, engine_default=True, now=T0)
    assert not approval_required(store, not_required, engine_default=True, now=T0)
    assert not approval_required(store, not_required, engine_default=None, now=T0)
    assert approval_required(
        store, programme(directories, "required"), engine_default=False, now=T0
    )
    assert policy_changes(store) == [
        (None, "required"),
        ("required", "not-required"),
        ("not-required", "required"),
    ]


def test_a_command_cannot_skip_approval_with_its_own_environment(
    store: Store, directories: Directories
) -> None:
    silent = programme(directories, None)
    assert approval_required(store, silent, engine_default=True, now=T0)  # the engine's
    # A command never passes an engine default: REHAB_REQUIRE_APPROVAL=false in its shell
    # has no way in; it reads the policy the engine recorded.
    assert approval_required(store, silent, engine_default=None, now=T0)
    runner_env = {"REHAB_REQUIRE_APPROVAL": "false", "REHAB_HOME": "/nonexistent-home"}
    done = rehab(runner_env, "plan", "simulate", "--json", str(EXAMPLES / "BC-2026-0042.yaml"))
    assert done.returncode == 0, done.stderr
    assert '"approval-request"' in done.stdout, "the preview still waits for approval"


def test_the_cli_refuses_to_run_as_another_os_user_than_the_homes_owner(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to give REHAB_HOME to another OS user")
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    nobody = pwd.getpwnam("nobody")
    os.chown(home, nobody.pw_uid, nobody.pw_gid)  # the operator is nobody; we are root
    done = rehab_process({"REHAB_HOME": str(home), "PATH": "/usr/bin:/bin"}, "plan", "list")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"error: {home} belongs to nobody, and rehab acts only as its owner: run it as nobody "
        "(you are root)"
    ]
    assert list(home.iterdir()) == [], "nothing was opened or made in it"


def test_a_key_file_or_home_others_may_read_is_refused_in_one_line(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {"REHAB_HOME": str(home), "PATH": "/usr/bin:/bin"}

    def plan_list() -> Done:
        return rehab(env, "plan", "list")

    assert plan_list().returncode == 0  # made private: 0700, the key 0600
    (home / "secret.key").chmod(0o644)
    exposed = plan_list()
    assert exposed.returncode == 1 and exposed.stderr.strip().splitlines() == [
        f"error: {home / 'secret.key'} may be read by others (mode 644): make it its owner's "
        f"alone (`chmod 600 {home / 'secret.key'}`), then run this again"
    ]
    (home / "secret.key").chmod(0o600)
    home.chmod(0o755)
    exposed = plan_list()
    assert exposed.returncode == 1 and exposed.stderr.strip() == (
        f"error: {home} may be read by others (mode 755): make it its owner's alone "
        f"(`chmod 700 {home}`), then run this again"
    )
