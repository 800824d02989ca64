"""Staff at the door (security.md rules 1-2): an invite works once and for 72 hours, sign-in
needs her password and her code and says the same whatever was wrong, and a session ends when
idle, when old, when her role changes, when she leaves the directory, or when revoked."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Literal

import pyotp
import pytest
from argon2 import PasswordHasher, Type, extract_parameters
from sqlalchemy import select

from casework.services import door_access, invites, lockout, staff_codes, staff_secrets
from casework.services.errors import InviteRefused, PasswordRefused, SignInRefused
from casework.store.db import Store
from casework.store.door_tables import StaffInviteRow, StaffPasswordRow, StaffSessionRow
from casework.store.tables import AuditRow
from plans.directories import Directories
from tests.conftest import SHIPPED_HASHER, T0

MIN = timedelta(minutes=1)
PASSWORD = "correct horse battery staple"


def enrolled(store: Store, directories: Directories, staff: str = "l-istomova") -> pyotp.TOTP:
    """Her authenticator and her password, as enrolment and the invite leave them."""
    totp = pyotp.parse_uri(staff_codes.enrol(store, directories, staff=staff, now=T0))
    token = invites.invite(store, directories, staff=staff, now=T0)
    invites.set_password(store, token=token, password=PASSWORD, now=T0)
    return totp  # type: ignore[return-value]  # a TOTP URI gives a TOTP


def with_staff(directories: Directories, staff: str, *, role: str | None) -> Directories:
    """The directory with one staff member's role changed, or (None) her entry removed."""
    members = dict(directories.staff.staff)
    if role is None:
        del members[staff]
    else:
        members[staff] = members[staff].model_copy(update={"role": role})
    return replace(directories, staff=directories.staff.model_copy(update={"staff": members}))


def actions(store: Store) -> list[tuple[str, str, dict[str, object]]]:
    with store.session() as session:
        rows = session.scalars(select(AuditRow).order_by(AuditRow.id)).all()
        return [(r.actor, r.action, r.detail) for r in rows]


def test_an_invite_sets_her_password_once(store: Store, directories: Directories) -> None:
    token = invites.invite(store, directories, staff="l-istomova", now=T0)
    assert invites.invited_staff(store, token=token, now=T0) == "l-istomova"
    assert invites.set_password(store, token=token, password=PASSWORD, now=T0) == "l-istomova"
    with pytest.raises(InviteRefused, match="used already"):
        invites.set_password(store, token=token, password="another long password", now=T0)


def test_an_invite_expires_after_72_hours(store: Store, directories: Directories) -> None:
    token = invites.invite(store, directories, staff="l-istomova", now=T0)
    late = T0 + timedelta(hours=72)
    with pytest.raises(InviteRefused, match="expired"):
        invites.set_password(store, token=token, password=PASSWORD, now=late)


def test_a_new_invite_ends_the_earlier_one(store: Store, directories: Directories) -> None:
    first = invites.invite(store, directories, staff="l-istomova", now=T0)
    invites.invite(store, directories, staff="l-istomova", now=T0 + MIN)
    with pytest.raises(InviteRefused):
        invites.set_password(store, token=first, password=PASSWORD, now=T0 + MIN)


def test_an_unknown_or_altered_invite_is_refused(store: Store, directories: Directories) -> None:
    token = invites.invite(store, directories, staff="l-istomova", now=T0)
    altered = token[:-1] + ("A" if token[-1] != "A" else "B")
    with pytest.raises(InviteRefused, match="not known"):
        invites.invited_staff(store, token=altered, now=T0)


def test_a_short_password_is_refused_and_the_invite_still_works(
    store: Store, directories: Directories
) -> None:
    token = invites.invite(store, directories, staff="l-istomova", now=T0)
    with pytest.raises(PasswordRefused):
        invites.set_password(store, token=token, password="short", now=T0)
    invites.set_password(store, token=token, password=PASSWORD, now=T0)


def test_the_store_keeps_no_token_and_no_password(store: Store, directories: Directories) -> None:
    token = invites.invite(store, directories, staff="l-istomova", now=T0)
    invites.set_password(store, token=token, password=PASSWORD, now=T0)
    with store.session() as session:
        invite = session.scalars(select(StaffInviteRow)).one()
        password = session.get_one(StaffPasswordRow, "l-istomova")
        assert token not in invite.token_hash
        assert PASSWORD not in password.password_hash
        assert password.password_hash.startswith("$argon2id$")


def test_a_password_is_stored_as_argon2id_at_rfc_9106s_recommended_cost(
    store: Store, directories: Directories, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(staff_secrets, "HASHER", SHIPPED_HASHER)  # as outside the tests
    token = invites.invite(store, directories, staff="l-istomova", now=T0)
    invites.set_password(store, token=token, password=PASSWORD, now=T0)
    with store.session() as session:
        stored = session.get_one(StaffPasswordRow, "l-istomova").password_hash
    used = extract_parameters(stored)
    assert used.type is Type.ID
    assert used.time_cost >= 3 and used.memory_cost >= 64 * 1024 and used.parallelism >= 4


class CountingHasher(PasswordHasher):
    """The tests' quick hasher, counting the checks it makes."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=8, parallelism=1)
        self.checks = 0

    def verify(
        self, hash: str | bytes, password: str | bytes
    ) -> Literal[True]:  # argon2's own name
        self.checks += 1
        return super().verify(hash, password)


def test_every_refusal_costs_one_password_check_so_its_speed_tells_nothing(
    store: Store, directories: Directories, monkeypatch: pytest.MonkeyPatch
) -> None:
    totp = enrolled(store, directories)
    hasher = CountingHasher()
    monkeypatch.setattr(staff_secrets, "HASHER", hasher)
    attempts = {
        "unknown id": ("nobody", PASSWORD),
        "wrong password": ("l-istomova", "wrong password!!"),
        "a wrong code": ("l-istomova", PASSWORD),
    }
    for what, (staff, password) in attempts.items():
        before = hasher.checks
        with pytest.raises(SignInRefused):
            door_access.sign_in(
                store, directories, staff=staff, password=password, code="000000", now=T0
            )
        assert hasher.checks == before + 1, what
    for _ in range(10):  # locked after a run of refusals
        lockout.record_failure(store, directories, staff="l-istomova", now=T0, proof="sign-in")
    before = hasher.checks
    with pytest.raises(SignInRefused):
        door_access.sign_in(
            store, directories, staff="l-istomova", password=PASSWORD, code=totp.at(T0), now=T0
        )
    assert hasher.checks == before + 1, "a locked id's refusal checks the password too"


def test_sign_in_needs_password_and_code(store: Store, directories: Directories) -> None:
    totp = enrolled(store, directories)
    token, who = door_access.sign_in(
        store, directories, staff="l-istomova", password=PASSWORD, code=totp.at(T0), now=T0
    )
    assert (who.staff, who.role) == ("l-istomova", "supervisor")
    assert door_access.current(store, directories, token=token, now=T0 + MIN) == who
    assert ("l-istomova", "signed-in") in [(a, b) for a, b, _ in actions(store)]


@pytest.mark.parametrize("wrong", ["password", "code", "staff", "replayed"])
def test_any_wrong_part_gets_the_same_answer(
    store: Store, directories: Directories, wrong: str
) -> None:
    totp = enrolled(store, directories)
    good = totp.at(T0)
    if wrong == "replayed":
        door_access.sign_in(
            store, directories, staff="l-istomova", password=PASSWORD, code=good, now=T0
        )
    attempt = {
        "staff": "nobody" if wrong == "staff" else "l-istomova",
        "password": "wrong password!!" if wrong == "password" else PASSWORD,
        "code": "000000" if wrong == "code" and good != "000000" else good,
    }
    with pytest.raises(SignInRefused) as refused:
        door_access.sign_in(store, directories, now=T0, **attempt)
    assert str(refused.value) == "staff id, password or code not accepted"
    refusals = [d for _, action, d in actions(store) if action == "sign-in-refused"]
    assert refusals, "every refusal is an audit row"
    assert PASSWORD not in str(refusals) and good not in str(refusals)


def test_a_session_ends_after_30_minutes_idle(store: Store, directories: Directories) -> None:
    totp = enrolled(store, directories)
    token, _ = door_access.sign_in(
        store, directories, staff="l-istomova", password=PASSWORD, code=totp.at(T0), now=T0
    )
    assert door_access.current(store, directories, token=token, now=T0 + 29 * MIN)
    assert door_access.current(store, directories, token=token, now=T0 + 58 * MIN)
    assert door_access.current(store, directories, token=token, now=T0 + 89 * MIN) is None
    assert door_access.current(store, directories, token=token, now=T0 + 90 * MIN) is None


def test_a_session_ends_after_12_hours_however_active(
    store: Store, directories: Directories
) -> None:
    totp = enrolled(store, directories)
    token, _ = door_access.sign_in(
        store, directories, staff="l-istomova", password=PASSWORD, code=totp.at(T0), now=T0
    )
    for minutes in range(20, 12 * 60, 20):
        assert door_access.current(store, directories, token=token, now=T0 + minutes * MIN)
    assert door_access.current(store, directories, token=token, now=T0 + 721 * MIN) is None


def test_a_session_ends_when_her_role_changes(store: Store, directories: Directories) -> None:
    totp = enrolled(store, directories)
    token, _ = door_access.sign_in(
        store, directories, staff="l-istomova", password=PASSWORD, code=totp.at(T0), now=T0
    )
    demoted = with_staff(directories, "l-istomova", role="case-manager")
    assert door_access.current(store, demoted, token=token, now=T0 + MIN) is None
    # and it stays ended when the directory is put back
    assert door_access.current(store, directories, token=token, now=T0 + 2 * MIN) is None
    ended = [d for _, action, d in actions(store) if action == "session-ended"]
    assert ended[-1]["why"] == "role-changed"


def test_a_session_ends_when_she_leaves_the_directory(
    store: Store, directories: Directories
) -> None:
    totp = enrolled(store, directories)
    token, _ = door_access.sign_in(
        store, directories, staff="l-istomova", password=PASSWORD, code=totp.at(T0), now=T0
    )
    gone = with_staff(directories, "l-istomova", role=None)
    assert door_access.current(store, gone, token=token, now=T0 + MIN) is None


def test_revoke_ends_her_sessions_and_refuses_her_sign_in(
    store: Store, directories: Directories
) -> None:
    totp = enrolled(store, directories)
    token, _ = door_access.sign_in(
        store, directories, staff="l-istomova", password=PASSWORD, code=totp.at(T0), now=T0
    )
    assert door_access.revoke(store, staff="l-istomova", now=T0 + MIN) == 1
    assert door_access.current(store, directories, token=token, now=T0 + MIN) is None
    with pytest.raises(SignInRefused):
        door_access.sign_in(
            store,
            directories,
            staff="l-istomova",
            password=PASSWORD,
            code=totp.at(T0 + 2 * MIN),
            now=T0 + 2 * MIN,
        )


def test_sign_out_ends_the_session(store: Store, directories: Directories) -> None:
    totp = enrolled(store, directories)
    token, _ = door_access.sign_in(
        store, directories, staff="l-istomova", password=PASSWORD, code=totp.at(T0), now=T0
    )
    door_access.sign_out(store, token=token, now=T0 + MIN)
    assert door_access.current(store, directories, token=token, now=T0 + MIN) is None
    with store.session() as session:
        row = session.scalars(select(StaffSessionRow)).one()
        assert token not in row.token_hash and row.ended_why == "signed-out"
