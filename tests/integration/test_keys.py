"""Keys (security.md rule 8): each case's data sealed with its own data key, wrapped by the
master key; `rehab key rotate` re-wraps them under a new master key while the engine runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from casework.services import keys, plan_changes
from casework.services.person import store_person
from casework.store.crypto import write_keys
from casework.store.db import Store, open_store
from casework.store.errors import SecretKeyExposed, WrongSecretKey
from casework.store.repository import get_case_row, read_person
from casework.store.tables import CaseRow
from plans.directories import Directories
from plans.model import Person, Plan
from tests.conftest import T0

ONE = Person.model_validate({"name": "Olga Sidorova", "contact": "olga.s@mail.example"})
TWO = Person.model_validate({"name": "Irina Petrova", "contact": "irina.p@mail.example"})


def two_cases(store: Store, directories: Directories, plan: Plan) -> None:
    for code, person in (("BC-KEY-1", ONE), ("BC-KEY-2", TWO)):
        p = plan.model_copy(update={"case": code, "person": None})
        plan_changes.launch(
            store, directories, plan=p, by="n-zdolnik", now=T0, approval_required=False
        )
        store_person(store, directories, code=code, person=person, by=None, now=T0)


def person_of(store: Store, code: str) -> Person | None:
    with store.session() as session:
        return read_person(store.sealer, get_case_row(session, code=code))


def keyring_lines(store: Store) -> list[bytes]:
    return store.sealer.keyring.path.read_bytes().splitlines()


def test_each_case_has_its_own_data_key_kept_beside_the_master_key_not_in_the_database(
    store: Store, directories: Directories, example_plan: Plan
) -> None:
    two_cases(store, directories, example_plan)
    with store.session() as session:
        assert session.scalars(select(CaseRow.data_key_wrapped)).all() == [None, None]
    ring = store.sealer.keyring.path
    assert ring.parent == store.sealer.key_file.parent and ring.stat().st_mode & 0o777 == 0o600
    wrapped = {line.split()[1] for line in keyring_lines(store)}
    assert len(wrapped) == 2
    assert sorted(store.sealer.live_case_keys()) == ["BC-KEY-1", "BC-KEY-2"]
    assert person_of(store, "BC-KEY-1") == ONE and person_of(store, "BC-KEY-2") == TWO


def test_a_store_that_kept_data_keys_in_the_database_moves_them_out_when_opened(
    store_url: str, tmp_path: Path, directories: Directories, example_plan: Plan
) -> None:
    store = open_store(store_url, tmp_path / "secret.key")
    try:
        two_cases(store, directories, example_plan)
        ring = store.sealer.keyring.path
        lines = keyring_lines(store)
        with store.session() as session:  # as rehab kept them before the keyring
            for line in lines:
                name, wrapped = line.split()
                code = name.decode().split("/", 1)[1]
                get_case_row(session, code=code).data_key_wrapped = wrapped
        ring.unlink()
    finally:
        store.dispose()
    reopened = open_store(store_url, tmp_path / "secret.key")
    try:
        with reopened.session() as session:
            assert session.scalars(select(CaseRow.data_key_wrapped)).all() == [None, None]
        assert sorted(keyring_lines(reopened)) == sorted(lines)
        assert person_of(reopened, "BC-KEY-1") == ONE
    finally:
        reopened.dispose()


def test_rotation_re_wraps_every_case_and_the_old_key_alone_no_longer_opens_the_store(
    store_url: str, tmp_path: Path, directories: Directories, example_plan: Plan
) -> None:
    key_file = tmp_path / "secret.key"
    store = open_store(store_url, key_file)
    engine = open_store(store_url, key_file)  # the running engine, with the old key in memory
    try:
        two_cases(store, directories, example_plan)
        old = key_file.read_bytes()
        done = keys.rotate(store, now=T0)
        assert done == {
            "cases_given_a_data_key": 0,
            "data_keys": 2,
            "data_keys_rewrapped": 2,
            "old_key_kept": 0,
        }
        assert key_file.read_bytes() != old and len(key_file.read_bytes().split()) == 1
        assert key_file.stat().st_mode & 0o777 == 0o600
        assert person_of(engine, "BC-KEY-1") == ONE, "the running engine takes the new key"
    finally:
        store.dispose()
        engine.dispose()
    fresh = open_store(store_url, key_file)  # the new key only
    try:
        assert person_of(fresh, "BC-KEY-2") == TWO
    finally:
        fresh.dispose()
    stale = tmp_path / "old.key"
    write_keys(stale, [old.strip()])
    with pytest.raises(WrongSecretKey, match="not the key this case store was sealed with"):
        open_store(store_url, stale)


def test_a_case_sealed_before_data_keys_gets_one_at_rotation(
    store: Store, directories: Directories, example_plan: Plan
) -> None:
    two_cases(store, directories, example_plan)
    ring = store.sealer.keyring.path  # as an older rehab wrote it: under the master key
    ring.write_bytes(b"\n".join(x for x in keyring_lines(store) if b"BC-KEY-1" not in x) + b"\n")
    with store.session() as session:
        row = get_case_row(session, code="BC-KEY-1")
        row.person_sealed = store.sealer.seal(ONE.model_dump(mode="json"))
    assert person_of(store, "BC-KEY-1") == ONE and not store.sealer.has_case_key("BC-KEY-1")
    assert keys.rotate(store, now=T0)["cases_given_a_data_key"] == 1
    assert person_of(store, "BC-KEY-1") == ONE and store.sealer.has_case_key("BC-KEY-1")


def test_a_keyring_others_may_read_is_refused_in_one_line(
    store: Store, directories: Directories, example_plan: Plan
) -> None:
    two_cases(store, directories, example_plan)
    store.sealer.keyring.path.chmod(0o644)
    with pytest.raises(SecretKeyExposed, match="may be read by others"):
        person_of(store, "BC-KEY-1")
