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

from casework.domain.errors import UnknownStaff
from casework.services import lockout, staff_codes
from casework.services.errors import CodeRefused, StaffLocked
from casework.store.db import Store
from casework.store.door_tables import StaffCodeRow
from casework.store.tables import AuditRow, OutboxRow
from flows.cli import cli
from notifications.notifier import RecordingNotifier
from notifications.outbox import Policy, send_due
from plans.directories import Directories, StaffDirectory
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


# --- lockout: five refused codes within 15 minutes lock the id for 15 minutes -------------

MIN = 60 * S
TEAM = StaffDirectory.model_validate(
    {
        "default_supervisor": "sup",
        "timezone": "Europe/Minsk",
        "staff": {
            "cm": {"name": "C. M.", "role": "case-manager", "notify": ["json://cm"]},
            "sup": {
                "name": "S. U.",
                "role": "supervisor",
                "language": "ru",
                "notify": ["json://sup"],
            },
            "sup2": {"name": "S. 2", "role": "supervisor", "notify": ["json://sup2"]},
            "dir": {
                "name": "D. I.",
                "role": "director",
                "language": "be",
                "notify": ["json://dir"],
            },
        },
    }
)


@pytest.fixture
def team() -> Directories:
    return Directories(EXAMPLE_DIRECTORIES.partners, TEAM)


def wrong(totp: pyotp.TOTP, at: timedelta) -> str:
    """A code that is not right at `at`, nor a step either side."""
    near = {totp.at(T0 + at + d * 30 * S) for d in (-1, 0, 1)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in near)


def fail(store: Store, team: Directories, totp: pyotp.TOTP, at: timedelta, staff: str) -> str:
    """One refused code of `staff` at T0 + `at`; returns why it was refused."""
    with pytest.raises(CodeRefused) as refused:
        staff_codes.check_code(
            store, team, staff=staff, code=wrong(totp, at), now=T0 + at, case="BC-1"
        )
    return refused.value.why


def locks(store: Store) -> list[dict[str, object]]:
    with store.session() as session:
        rows = session.scalars(select(AuditRow).where(AuditRow.action == "staff-locked"))
        return [{"actor": r.actor, "case": r.case_code, **r.detail} for r in rows]


def test_five_refused_codes_within_15_minutes_lock_the_id_and_even_a_right_code_is_refused(
    store: Store, team: Directories
) -> None:
    totp = enrolled(store, team, staff="cm")
    for minute in range(5):
        assert fail(store, team, totp, minute * MIN, "cm") == "wrong or expired"
    at = T0 + 6 * MIN
    with pytest.raises(StaffLocked) as refused:
        staff_codes.check_code(store, team, staff="cm", code=totp.at(at), now=at, case="BC-2")
    assert refused.value.why.startswith("locked after repeated refused codes until")
    assert "2026-12-01 06:19 UTC" in str(refused.value)
    assert refusals(store)[-1] == {"actor": "cm", "case": "BC-2", "why": "locked"}
    assert locks(store) == [
        {
            "actor": "cm",
            "case": None,
            "staff": "cm",
            "until": (T0 + 19 * MIN).isoformat(),
            "failures": 5,
            "proof": "code",
            "told": ["sup", "dir"],
        }
    ]


def test_the_lock_ends_after_15_minutes_and_a_right_code_is_accepted_again(
    store: Store, team: Directories
) -> None:
    totp = enrolled(store, team, staff="cm")
    for minute in range(5):
        fail(store, team, totp, minute * MIN, "cm")
    assert lockout.locked_until(store, staff="cm", now=T0 + 18 * MIN) == T0 + 19 * MIN
    at = T0 + 19 * MIN
    staff_codes.check_code(store, team, staff="cm", code=totp.at(at), now=at, case="BC-1")
    assert fail(store, team, totp, 20 * MIN, "cm") == "wrong or expired", "a fresh count"
    assert len(locks(store)) == 1


def test_refused_codes_spread_over_more_than_15_minutes_do_not_lock(
    store: Store, team: Directories
) -> None:
    totp = enrolled(store, team, staff="cm")
    for minute in (0, 4, 8, 12, 16, 20):  # never five within 15 minutes
        fail(store, team, totp, minute * MIN, "cm")
    at = T0 + 21 * MIN
    staff_codes.check_code(store, team, staff="cm", code=totp.at(at), now=at, case="BC-1")
    assert locks(store) == []


def test_a_lock_is_told_once_to_her_supervisor_and_every_director_in_their_language(
    store: Store, team: Directories
) -> None:
    sup = enrolled(store, team, staff="sup")
    for minute in range(5):
        fail(store, team, sup, minute * MIN, "sup")
    for minute in (6, 7):  # refused as locked: no second lock, no second message
        fail(store, team, sup, minute * MIN, "sup")
    notifier = RecordingNotifier()
    sent = send_due(store, team, notifier, now=T0 + 5 * MIN, policy=Policy(workers=1))
    assert sent == {"sent": 1}, "a supervisor's lock is told to the directors (not herself)"
    [(url, subject, body)] = notifier.sent
    assert url == "json://dir"
    assert subject == "Уліковы запіс sup заблакаваны да 2026-12-01 09:19 (Europe/Minsk)"
    assert "sup" in body and "BC-1" not in body, "staff ids only, no case"
    cm = enrolled(store, team, staff="cm")
    for minute in range(5):
        fail(store, team, cm, (30 + minute) * MIN, "cm")
    notifier = RecordingNotifier()
    send_due(store, team, notifier, now=T0 + 35 * MIN, policy=Policy(workers=1))
    assert sorted(url for url, _, _ in notifier.sent) == ["json://dir", "json://sup"]
    assert len(locks(store)) == 2


def test_refused_codes_are_counted_across_cases_and_processes_and_lock_once(
    store: Store, team: Directories
) -> None:
    from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415  # this test alone

    totp = enrolled(store, team, staff="cm")
    bad = wrong(totp, 0 * S)

    def attempt(n: int) -> str:
        try:
            staff_codes.check_code(store, team, staff="cm", code=bad, now=T0, case=f"BC-{n}")
        except CodeRefused as exc:
            return exc.why
        return "accepted"

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(attempt, range(12)))
    assert len(locks(store)) == 1
    assert lockout.locked_until(store, staff="cm", now=T0) == T0 + 15 * MIN
    with store.session() as session:
        queued = session.scalars(
            select(OutboxRow.recipient).where(OutboxRow.kind == "staff-locked")
        ).all()
    assert sorted(queued) == ["staff:dir", "staff:sup"]


def test_a_sign_in_counts_towards_the_same_lockout_as_the_forms_codes(
    store: Store, team: Directories
) -> None:
    totp = enrolled(store, team, staff="cm")
    for minute in range(3):
        fail(store, team, totp, minute * MIN, "cm")
    for minute in (3, 4):  # the door's sign-in, next, records its failures the same way
        lockout.record_failure(store, team, staff="cm", now=T0 + minute * MIN, proof="sign-in")
    assert lockout.locked_until(store, staff="cm", now=T0 + 5 * MIN) == T0 + 19 * MIN
    with pytest.raises(StaffLocked):
        check(store, totp.at(T0 + 5 * MIN), at_seconds=300, staff="cm", directories=team)
