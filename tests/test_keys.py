"""Keys (security.md rule 8): each case's data sealed with its own data key, wrapped by the
master key; `rehab key rotate` re-wraps them under a new master key while the engine runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from casework import keys, services
from casework.person import store_person
from casework.store.crypto import write_keys
from casework.store.db import Store, open_store
from casework.store.repository import get_case_row, read_person
from casework.store.tables import CaseRow
from plans.directories import Directories
from plans.errors import WrongSecretKey
from plans.model import Person, Plan
from tests.conftest import T0

ONE = Person.model_validate({"name": "Olga Sidorova", "contact": "olga.s@mail.example"})
TWO = Person.model_validate({"name": "Irina Petrova", "contact": "irina.p@mail.example"})


def two_cases(store: Store, directories: Directories, plan: Plan) -> None:
    for code, person in (("BC-KEY-1", ONE), ("BC-KEY-2", TWO)):
        p = plan.model_copy(update={"case": code, "person": None})
        services.launch(store, directories, plan=p, by="n-zdolnik", now=T0, approval_required=False)
        store_person(store, directories, code=code, person=person, by=None, now=T0)


def person_of(store: Store, code: str) -> Person | None:
    with store.session() as session:
        return read_person(store.sealer, get_case_row(session, code=code))


def test_each_case_has_its_own_data_key(
    store: Store, directories: Directories, example_plan: Plan
) -> None:
    two_cases(store, directories, example_plan)
    with store.session() as session:
        wrapped = session.scalars(select(CaseRow.data_key_wrapped)).all()
    assert len(set(wrapped)) == 2 and all(wrapped)
    assert person_of(store, "BC-KEY-1") == ONE and person_of(store, "BC-KEY-2") == TWO


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
        assert done == {"cases": 2, "cases_given_a_data_key": 0, "old_key_kept": 0}
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
    with store.session() as session:  # as an older rehab wrote it: under the master key
        row = get_case_row(session, code="BC-KEY-1")
        row.data_key_wrapped = None
        row.person_sealed = store.sealer.seal(ONE.model_dump(mode="json"))
    assert person_of(store, "BC-KEY-1") == ONE
    assert keys.rotate(store, now=T0)["cases_given_a_data_key"] == 1
    assert person_of(store, "BC-KEY-1") == ONE
    with store.session() as session:
        assert get_case_row(session, code="BC-KEY-1").data_key_wrapped is not None
