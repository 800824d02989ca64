"""Staff codes (security.md rule 2): enrolled by the operator, sealed in the store, each good
once; a wrong, expired or replayed code is refused and audited without the code."""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path

import pyotp
import pytest
from click.testing import CliRunner
from sqlalchemy import select

from casework import staff_codes
from casework.store.db import Store
from casework.store.tables import AuditRow, StaffCodeRow
from flows.cli import cli
from plans.directories import Directories
from plans.errors import CodeRefused, UnknownStaff
from plans.loading import load_directories
from tests.conftest import EXAMPLES, T0

S = timedelta(seconds=1)
EXAMPLE_DIRECTORIES = load_directories(EXAMPLES / "partners.yaml", EXAMPLES / "staff.yaml")


def enrolled(store: Store, directories: Directories, staff: str = "l-istomova") -> pyotp.TOTP:
    uri = staff_codes.enrol(store, directories, staff=staff, now=T0)
    assert uri.startswith(f"otpauth://totp/rehab:{staff}?secret=")
    return pyotp.parse_uri(uri)  # type: ignore[return-value]  # a TOTP URI gives a TOTP


def refusals(store: Store) -> list[dict[str, str]]:
    with store.session() as session:
        rows = session.scalars(select(AuditRow).where(AuditRow.action == "code-refused"))
        return [{"actor": r.actor, "case": r.case_code or "", **r.detail} for r in rows]


def check(
    store: Store,
    code: str,
    at_seconds: int = 0,
    staff: str = "l-istomova",
    directories: Directories = EXAMPLE_DIRECTORIES,
) -> None:
    staff_codes.check_code(
        store, directories, staff=staff, code=code, now=T0 + at_seconds * S, case="BC-1"
    )


def test_a_fresh_code_is_accepted_once(store: Store, directories: Directories) -> None:
    totp = enrolled(store, directories)
    code = totp.at(T0)
    check(store, code)
    with pytest.raises(CodeRefused, match="already used"):
        check(store, code, at_seconds=5)
    check(store, totp.at(T0 + 30 * S), at_seconds=30)  # the next one is fine
    assert refusals(store) == [{"actor": "l-istomova", "case": "BC-1", "why": "already used"}]


def test_a_wrong_an_expired_and_an_unenrolled_code_are_refused_and_audited(
    store: Store, directories: Directories
) -> None:
    totp = enrolled(store, directories)
    with pytest.raises(CodeRefused, match="wrong or expired"):
        check(store, "000000" if totp.at(T0) != "000000" else "111111")
    with pytest.raises(CodeRefused, match="wrong or expired"):
        check(store, totp.at(T0), at_seconds=120)  # four minutes' worth of steps later
    with pytest.raises(CodeRefused, match="not enrolled"):
        check(store, "123456", staff="n-zdolnik")
    assert [r["why"] for r in refusals(store)] == [
        "wrong or expired",
        "wrong or expired",
        "not enrolled: `rehab staff enrol` first",
    ]
    assert not any("code" in r for r in refusals(store)), "the code itself is never kept"


def test_a_code_of_the_step_before_or_after_is_accepted_for_a_drifting_phone(
    store: Store, directories: Directories
) -> None:
    totp = enrolled(store, directories)
    check(store, totp.at(T0 - 30 * S))
    check(store, totp.at(T0 + 30 * S), at_seconds=1)


def test_enrolling_again_replaces_the_secret_and_its_codes_stop_working(
    store: Store, directories: Directories
) -> None:
    old = enrolled(store, directories)
    new = enrolled(store, directories)
    if old.at(T0) != new.at(T0):
        with pytest.raises(CodeRefused):
            check(store, old.at(T0))
    check(store, new.at(T0))


def test_the_secret_is_sealed_and_unknown_staff_cannot_be_enrolled(
    store: Store, directories: Directories
) -> None:
    totp = enrolled(store, directories)
    with store.session() as session:
        [row] = session.scalars(select(StaffCodeRow)).all()
    assert totp.secret.encode() not in row.secret_sealed
    with pytest.raises(UnknownStaff):
        staff_codes.enrol(store, directories, staff="ghost", now=T0)


def test_staff_enrol_prints_a_uri_and_a_qr_code_and_json_on_request(tmp_path: Path) -> None:
    env = {"REHAB_HOME": str(tmp_path / "home")}
    saved = dict(os.environ)
    try:
        runner = CliRunner()
        shown = runner.invoke(cli, ["staff", "enrol", "l-istomova"], env=env)
        as_json = runner.invoke(cli, ["staff", "enrol", "l-istomova", "--json"], env=env)
        unknown = runner.invoke(cli, ["staff", "enrol", "ghost"], env=env)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    assert shown.exit_code == 0, shown.output
    assert "otpauth://totp/rehab:l-istomova?secret=" in shown.stdout
    assert "█" in shown.stdout or "▀" in shown.stdout, "a QR code drawn in the terminal"
    data = json.loads(as_json.stdout)
    assert data["staff"] == "l-istomova" and data["uri"].startswith("otpauth://totp/")
    assert unknown.exit_code == 1 and "unknown staff id 'ghost'" in unknown.stderr


def test_one_code_sent_twice_at_the_same_moment_is_accepted_once(
    store: Store, directories: Directories
) -> None:
    from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415  # this test alone

    code = enrolled(store, directories).at(T0)

    def attempt(_: int) -> str:
        try:
            check(store, code)
        except CodeRefused as exc:
            return exc.why
        return "accepted"

    with ThreadPoolExecutor(8) as pool:
        results = sorted(pool.map(attempt, range(8)))
    assert results == ["accepted"] + ["already used"] * 7
