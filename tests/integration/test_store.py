"""The case store, on SQLite and on PostgreSQL: records survive, personal data stays sealed."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm.exc import StaleDataError

from casework.services import engine, plan_changes, recording, unit_of_work
from casework.services import person as person_data
from casework.store import queries, repository
from casework.store.codes import lock_code, stored_code
from casework.store.db import Store, current_revision, head_revision, open_store
from casework.store.errors import SecretKeyError
from casework.store.repository import get_case_row, read_person
from casework.store.tables import AuditRow, OutboxRow
from plans.directories import Directories
from plans.errors import RehabError
from plans.model import Person, Plan
from tests.conftest import T0
from tests.plaintext import shows

# How long a change racing a held case is watched not to finish: an unheld one is done in a
# few tens of milliseconds, even on a busy machine.
HELD = 0.5

PERSONAL = ("Example Person One", "+375 00 000-00-00", "1991", "sexual")


def launch(store: Store, directories: Directories, plan: Plan, approval: bool = True) -> None:
    plan_changes.launch(
        store, directories, plan=plan, by="n-zdolnik", now=T0, approval_required=approval
    )


def test_a_launched_case_reads_back_with_its_plan_and_person(
    store: Store, directories: Directories, example_plan: Plan
) -> None:
    launch(store, directories, example_plan)
    status = queries.case_status(store, code="BC-2026-0042")
    assert status["state"] == "awaiting-approval" and status["revision"] == 1
    assert [s["id"] for s in status["steps"]] == ["rehab-centre", "medical-check", "psychologist"]
    assert all(s["state"] == "pending" for s in status["steps"])
    with store.session() as session:
        person = read_person(store.sealer, get_case_row(session, code="BC-2026-0042"))
    assert person is not None and person.name == "Example Person One"


def test_a_case_moves_through_approval_consent_and_time(
    store: Store, directories: Directories, example_plan: Plan
) -> None:
    launch(store, directories, example_plan)
    recording.approve(store, directories, code="BC-2026-0042", by="l-istomova", now=T0)
    recording.record_consent(
        store,
        directories,
        code="BC-2026-0042",
        scopes=["medical"],
        status="given",
        by="n-zdolnik",
        now=T0,
        note="told face to face",
    )
    recording.record_consent(
        store,
        directories,
        code="BC-2026-0042",
        scopes=["psychological"],
        status="refused",
        by="n-zdolnik",
        now=T0,
    )
    changed = engine.reconcile(store, code="BC-2026-0042", now=T0 + timedelta(days=3))
    states = {s["id"]: s["state"] for s in queries.case_status(store, code="BC-2026-0042")["steps"]}
    assert states == {"rehab-centre": "open", "medical-check": "open", "psychologist": "skipped"}
    assert changed.wake_at == T0 + timedelta(days=14)


def test_person_changes_wake_the_plan_at_once(
    store: Store, directories: Directories, example_plan: Plan
) -> None:
    launch(store, directories, example_plan)
    changed = recording.approve(store, directories, code="BC-2026-0042", by="l-istomova", now=T0)
    assert changed.wake_at == T0


def test_work_the_engine_could_not_finish_makes_the_case_due_again_never_later(
    store: Store, directories: Directories, example_plan: Plan
) -> None:
    launch(store, directories, example_plan, approval=False)
    engine.reconcile(store, code="BC-2026-0042", now=T0)
    assert queries.due_wakes(store, now=T0 + timedelta(minutes=1)) == []
    engine.look_again(store, code="BC-2026-0042", at=T0 + timedelta(minutes=1))
    engine.look_again(store, code="BC-2026-0042", at=T0 + timedelta(days=30))
    assert [code for code, _ in queries.due_wakes(store, now=T0 + timedelta(minutes=1))] == [
        "BC-2026-0042"
    ]


def test_the_outbox_queues_each_message_once(
    store: Store, directories: Directories, example_plan: Plan
) -> None:
    launch(store, directories, example_plan, approval=False)
    for _ in range(3):
        engine.reconcile(store, code="BC-2026-0042", now=T0 + timedelta(hours=1))
    with store.session() as session:
        keys = session.scalars(select(OutboxRow.key)).all()
    assert keys == ["BC-2026-0042|rehab-centre|referral||partner:minsk-rehab-centre"]


def test_the_audit_log_refuses_updates_and_deletes(
    store: Store, directories: Directories, example_plan: Plan
) -> None:
    launch(store, directories, example_plan)
    for statement in ("UPDATE audit_log SET actor = 'someone-else'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"), store.session() as session:
            session.execute(text(statement))
    with store.session() as session:
        assert session.scalars(select(AuditRow.actor)).all() == ["n-zdolnik"]


def test_no_personal_data_is_stored_in_clear_text(
    store: Store, directories: Directories, example_plan: Plan, tmp_path: Path
) -> None:
    launch(store, directories, example_plan)
    recording.record_consent(
        store,
        directories,
        code="BC-2026-0042",
        scopes=["medical"],
        status="given",
        by="n-zdolnik",
        now=T0,
        note="agreed by phone from her aunt's flat in Pinsk",
    )
    dump = []
    with store.session() as session:
        tables = [
            "store_meta",
            "cases",
            "plan_revisions",
            "steps",
            "check_ins",
            "consents",
            "outbox",
            "audit_log",
        ]
        for table in tables:
            for row in session.execute(text(f"SELECT * FROM {table}")):  # fixed table names
                dump.append(
                    " ".join(v.decode("latin-1") if isinstance(v, bytes) else str(v) for v in row)
                )
    everything = "\n".join(dump)
    assert "BC-2026-0042" in everything, "the dump reads the rows"
    for value in (*PERSONAL, "Pinsk"):  # the person's data, and a note's whereabouts
        assert not shows(value, everything), value
    if store.engine.dialect.name == "sqlite":
        store.dispose()
        raw = b"".join(p.read_bytes() for p in tmp_path.glob("cases.db*"))
        assert b"BC-2026-0042" in raw
        for value in (*PERSONAL, "Pinsk"):
            assert not shows(value, raw), value


def test_a_wrong_key_is_a_clear_error_not_garbage(
    store_url: str, directories: Directories, example_plan: Plan, tmp_path: Path
) -> None:
    first = open_store(store_url, tmp_path / "secret.key")
    launch(first, directories, example_plan)
    first.dispose()
    other = tmp_path / "other.key"
    other.write_bytes(b"3q2-7wAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n")
    other.chmod(0o600)  # private, as a key must be: only its being wrong is refused
    with pytest.raises(SecretKeyError, match="not the key this case store was sealed with"):
        open_store(store_url, other)


def test_a_missing_key_is_a_clear_error_and_no_new_key_is_made(
    store_url: str, directories: Directories, example_plan: Plan, tmp_path: Path
) -> None:
    key = tmp_path / "secret.key"
    first = open_store(store_url, key)
    launch(first, directories, example_plan)
    first.dispose()
    key.unlink()
    with pytest.raises(SecretKeyError, match="missing"):
        open_store(store_url, key)
    assert not key.exists()


def test_the_key_file_is_created_private(store: Store, tmp_path: Path) -> None:
    assert (tmp_path / "secret.key").stat().st_mode & 0o777 == 0o600


def test_the_store_migrates_itself_once(store_url: str, tmp_path: Path) -> None:
    for _ in range(2):
        opened = open_store(store_url, tmp_path / "secret.key")
        assert current_revision(opened.engine) == head_revision()
        opened.dispose()


def test_an_unknown_case_is_a_clear_error(store: Store, directories: Directories) -> None:
    with pytest.raises(RehabError, match="no case BC-0000"):
        recording.approve(store, directories, code="BC-0000", by="l-istomova", now=T0)


def test_a_second_launch_of_an_active_case_is_refused_and_changes_nothing(
    store: Store, directories: Directories, example_plan: Plan
) -> None:
    launch(store, directories, example_plan)
    with pytest.raises(RehabError, match="already awaiting-approval"):
        launch(store, directories, example_plan)
    assert len(queries.list_cases(store)) == 1


def test_a_case_terminated_for_a_breach_relaunches_only_through_approval(
    store: Store, directories: Directories, example_plan: Plan
) -> None:
    launch(store, directories, example_plan, approval=False)
    recording.breach(
        store, directories, code="BC-2026-0042", rule="sobriety", by="n-zdolnik", now=T0
    )
    changed = plan_changes.launch(
        store,
        directories,
        plan=example_plan,
        by="n-zdolnik",
        now=T0 + timedelta(days=1),
        approval_required=False,
    )
    assert changed.state == "awaiting-approval"
    status = queries.case_status(store, code="BC-2026-0042")
    assert status["episode"] == 2 and all(s["state"] == "pending" for s in status["steps"])
    with store.session() as session:
        actions = session.scalars(select(AuditRow.action).order_by(AuditRow.id)).all()
    assert actions == ["launch", "rule-breach", "launch"]


def test_amendments_are_revisions(
    store: Store, directories: Directories, example_plan: Plan
) -> None:
    launch(store, directories, example_plan)
    amended = example_plan.model_copy(update={"steps": example_plan.steps[:2]})
    changed = plan_changes.amend(store, directories, plan=amended, by="n-zdolnik", now=T0)
    assert changed.revision == 2
    status = queries.case_status(store, code="BC-2026-0042")
    assert {s["id"]: s["state"] for s in status["steps"]}["psychologist"] == "cancelled"


def test_two_amendments_at_one_moment_are_made_one_after_the_other_neither_refused(
    store: Store, directories: Directories, example_plan: Plan, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second waits while the first holds the case, then reads its revision and adds the
    next: both are recorded whole, as if made a moment apart."""
    launch(store, directories, example_plan)
    inside, release = threading.Event(), threading.Event()
    real_add_revision = repository.add_revision

    def add_revision_held(*args, **kwargs):  # type: ignore[no-untyped-def]  # wraps as-is
        if not inside.is_set():  # the first amendment stops here, holding the case
            inside.set()
            assert release.wait(20)
        return real_add_revision(*args, **kwargs)

    monkeypatch.setattr(plan_changes, "add_revision", add_revision_held)
    results: dict[int, object] = {}
    done = {n: threading.Event() for n in (1, 2)}

    def amend(steps: int) -> None:
        plan = example_plan.model_copy(update={"steps": example_plan.steps[:steps]})
        try:
            results[steps] = plan_changes.amend(
                store, directories, plan=plan, by="n-zdolnik", now=T0
            )
        except RehabError as exc:
            results[steps] = exc
        done[steps].set()

    first = threading.Thread(target=amend, args=(2,))
    first.start()
    assert inside.wait(20)
    second = threading.Thread(target=amend, args=(1,))
    second.start()
    assert not done[1].wait(HELD), "the second waits while the first holds the case"
    release.set()
    first.join(30)
    second.join(30)
    assert [getattr(results[n], "revision", results[n]) for n in (2, 1)] == [2, 3]
    status = queries.case_status(store, code="BC-2026-0042")
    assert status["revision"] == 3
    kept = [s["id"] for s in status["steps"] if s["state"] != "cancelled"]
    assert kept == ["rehab-centre"], "the store holds the later amendment's plan, whole"
    with store.session() as session:
        actions = session.scalars(select(AuditRow.action).order_by(AuditRow.id)).all()
    assert actions.count("amend") == 2


def _approve(store: Store, directories: Directories) -> object:
    return recording.approve(store, directories, code="BC-2026-0042", by="l-istomova", now=T0)


def _set_person(store: Store, directories: Directories) -> object:
    person = Person(name="Hanna Zhuk", contact="+375 00 000-00-01")
    return person_data.store_person(
        store, directories, code="BC-2026-0042", person=person, by="n-zdolnik", now=T0
    )


@pytest.mark.parametrize("act", [_approve, _set_person], ids=["approve", "set-person"])
def test_a_persons_change_while_the_engine_holds_the_case_waits_and_is_recorded(
    store: Store, directories: Directories, example_plan: Plan, act: Callable[..., object]
) -> None:
    """The clock tending a case at the moment a person changes it: she is not told the case
    changed under her; her change is recorded once the engine's is in, which is kept."""
    launch(store, directories, example_plan)
    later = T0 + timedelta(days=3)
    done = threading.Event()
    results: list[object] = []

    def person() -> None:
        try:
            results.append(act(store, directories))
        except (RehabError, StaleDataError) as exc:
            results.append(exc)
        done.set()

    with unit_of_work.transaction(store, "BC-2026-0042") as session:
        row = get_case_row(session, code="BC-2026-0042")
        row.wake_at = later  # the engine's own change to the row, written before it commits
        session.flush()
        racer = threading.Thread(target=person)
        racer.start()
        assert not done.wait(HELD), "her change waits while the engine holds the case"
    racer.join(30)
    assert len(results) == 1 and not isinstance(results[0], Exception), results
    status = queries.case_status(store, code="BC-2026-0042")
    if act is _approve:
        assert status["state"] == "active"
    else:
        with store.session() as session:
            found = read_person(store.sealer, get_case_row(session, code="BC-2026-0042"))
        assert found is not None and found.name == "Hanna Zhuk"
    with store.session() as session:
        assert get_case_row(session, code="BC-2026-0042").wake_at is not None


def test_a_bulk_launchs_runs_are_recorded_together_after_the_engines_change_and_move_the_version(
    store: Store, directories: Directories, example_plan: Plan
) -> None:
    """A bulk launch records its plans' runs without reading them: a case the clock holds is
    written once its wake commits (which is kept), and a write that read the case before
    finds it changed instead of undoing the run's record."""
    launch(store, directories, example_plan)
    other = example_plan.model_copy(update={"case": "BC-2026-0043"})
    launch(store, directories, other)
    later = T0 + timedelta(days=3)
    runs = {"BC-2026-0042": "run-42", "BC-2026-0043": "run-43"}
    done = threading.Event()

    def bulk() -> None:
        engine.set_flow_runs(store, runs=runs, now=T0)
        done.set()

    with unit_of_work.transaction(store, "BC-2026-0042") as session:
        get_case_row(session, code="BC-2026-0042").wake_at = later
        session.flush()
        writer = threading.Thread(target=bulk)
        writer.start()
        assert not done.wait(HELD), "the runs wait while the engine holds a case"
    writer.join(30)
    assert done.is_set()
    with store.session() as session:
        rows = [get_case_row(session, code=code) for code in runs]
        assert [r.flow_run_id for r in rows] == ["run-42", "run-43"]
        assert rows[0].wake_at is not None, "the engine's change is kept"
    with pytest.raises(StaleDataError), store.session() as session:
        stale = get_case_row(session, code="BC-2026-0043")
        engine.set_flow_runs(store, runs={"BC-2026-0043": "run-43-again"}, now=T0)
        stale.flow_run_id = None  # read before the write above: refused, not overwriting it
        session.flush()
    with store.session() as session:
        assert get_case_row(session, code="BC-2026-0043").flow_run_id == "run-43-again"


def test_a_launch_of_a_code_waits_for_a_racing_one_in_other_letters(store: Store) -> None:
    """Two spellings of one new code at one moment: the second looks only once the first
    has committed, so it finds that case instead of making a second."""
    took = threading.Event()
    second_done = threading.Event()
    with store.session() as first:
        lock_code(first, "bc-2026-0777")

        def second() -> None:
            with store.session() as session:
                took.set()
                lock_code(session, "BC-2026-0777")
            second_done.set()

        racer = threading.Thread(target=second)
        racer.start()
        assert took.wait(10)
        assert not second_done.wait(HELD), "the other spelling waits while the first holds it"
    racer.join(30)
    assert second_done.is_set(), "and goes on once the first transaction has ended"


def test_a_code_typed_in_other_letters_is_the_stored_one(
    store: Store, directories: Directories, example_plan: Plan
) -> None:
    launch(store, directories, example_plan)
    with store.session() as session:
        assert stored_code(session, "bc-2026-0042") == "BC-2026-0042"
        assert stored_code(session, "bc-2026-9999") == "bc-2026-9999", "a new code as typed"
    assert get_case_status_code(store, "Bc-2026-0042") == "BC-2026-0042"


def get_case_status_code(store: Store, code: str) -> str:
    return str(queries.case_status(store, code=code)["case"])
