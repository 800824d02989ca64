"""Bringing in cases that began before rehab (`rehab case import`), so the programme's cumulative
figures are whole. A case is recorded, not launched. An open one is in state `imported` (no
plan, no flow run, never on the clock) until `rehab plan launch` starts its plan as a new
episode; a closed one is in its outcome's state (completed, cancelled, terminated), like any
ended case. When the person was identified and how the case ended live in `imported_cases`,
which a later launch leaves alone; consents are consent rows of episode 1 with their own dates.
A date is kept as noon of that day in the programme's time zone (the staff directory's, else
the plans' default), so a period cut in any nearby zone puts it on that day.

BATCH records go to a transaction. Each is checked in memory first (the file's own rules, the
directory, who may import it, the codes already stored: one read for the batch); then the
batch's rows are written together in one SAVEPOINT, their audit rows chained in the order of
the file. Should the database refuse one, that SAVEPOINT is rolled back and each record is
written again in a SAVEPOINT of its own, so the refused one leaves nothing behind (no row, no
audit row, no data key) and the others go in."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from casework.domain.access import authorize
from casework.domain.errors import NotAllowed, UnknownStaff
from casework.services.import_checks import canonical, check_record
from casework.services.import_writes import Refusal, Write, write
from casework.store import audit_chain
from casework.store.codes import lock_codes, spelling, stored_spellings
from casework.store.db import Store
from casework.store.errors import AmbiguousCode
from casework.store.tables import CaseRow, ImportedCaseRow
from plans.directories import Directories
from plans.errors import RecordIssue
from plans.imports import ImportRecord
from plans.model import DEFAULT_TIMEZONE

Done = Literal["imported", "already-there"]
Outcome = Done | list[RecordIssue]

BATCH = 250  # records per transaction (sharing its commit and the audit head's move); divides 500


def import_record(
    store: Store,
    directories: Directories,
    record: ImportRecord,
    *,
    position: int,
    by: str | None,
    now: datetime,
) -> Outcome:
    """Bring in one case: "imported", "already-there" (the same record was imported before),
    or why it was refused (see `import_records`)."""
    return import_records(store, directories, [(position, record)], by=by, now=now)[0]


def import_records(
    store: Store,
    directories: Directories,
    records: list[tuple[int, ImportRecord]],
    *,
    by: str | None,
    now: datetime,
) -> list[Outcome]:
    """Bring in (position, record) pairs, BATCH to a transaction: a refused record leaves
    nothing behind and the others go in. For each: "imported", "already-there", or why it was
    refused. `by`: on whose behalf (default: its manager), who must be allowed to launch the
    case (its manager, its supervisor or a director)."""
    done: list[Outcome] = []
    for start in range(0, len(records), BATCH):
        done += _batch(store, directories, records[start : start + BATCH], by=by, now=now)
    return done


def _batch(
    store: Store,
    directories: Directories,
    records: list[tuple[int, ImportRecord]],
    *,
    by: str | None,
    now: datetime,
) -> list[Outcome]:
    today = now.astimezone(ZoneInfo(DEFAULT_TIMEZONE)).date()
    done: list[Outcome | None] = [None] * len(records)
    ready: list[tuple[int, int, ImportRecord]] = []
    for index, (position, record) in enumerate(records):
        issues = check_record(directories, record, position=position, today=today)
        if issues:
            done[index] = issues
        else:
            ready.append((index, position, canonical(record)))
    if ready:
        with store.session() as session:
            _import_checked(session, store, directories, ready, done, by=by, now=now)
    return [d for d in done if d is not None]


def _import_checked(
    session: Session,
    store: Store,
    directories: Directories,
    ready: list[tuple[int, int, ImportRecord]],
    done: list[Outcome | None],
    *,
    by: str | None,
    now: datetime,
) -> None:
    """The checked records of a batch, in `session`; their outcomes go to `done`."""
    # The codes' locks first, then the audit chain's (as a launch takes them): from here on
    # no one else makes or changes these cases, so one read of them holds for the batch.
    lock_codes(session, [r.case for _, _, r in ready])
    audit_chain.hold(session)
    stored = stored_spellings(session, [r.case for _, _, r in ready])
    kept = _kept(session, [code for codes in stored.values() for code in codes])
    steps = _plan(store, directories, ready, done, stored=stored, kept=kept, by=by)
    # New cases' data keys in one write of the keyring, not one (and its sync) each.
    made = store.sealer.ensure_case_keys([s.record.case for s in steps if isinstance(s, Write)])
    try:
        refused = write(session, store, directories, steps, done, now=now)
    except BaseException:
        store.sealer.discard_case_keys(made)  # nothing sealed with them is kept
        raise
    store.sealer.discard_case_keys([code for code in made if code in refused])


def _kept(session: Session, codes: list[str]) -> dict[str, tuple[datetime | None, bytes | None]]:
    """Stored cases by code: when purged, and the record they were imported as (if they were)."""
    kept: dict[str, tuple[datetime | None, bytes | None]] = {}
    for start in range(0, len(codes), 500):  # bounded IN lists
        rows = session.execute(
            select(CaseRow.code, CaseRow.purged_at, ImportedCaseRow.record_sealed)
            .outerjoin(ImportedCaseRow, ImportedCaseRow.case_id == CaseRow.id)
            .where(CaseRow.code.in_(codes[start : start + 500]))
        )
        for code, purged_at, sealed in rows:
            kept[code] = (purged_at, sealed)
    return kept


def _plan(
    store: Store,
    directories: Directories,
    ready: list[tuple[int, int, ImportRecord]],
    done: list[Outcome | None],
    *,
    stored: dict[str, list[str]],
    kept: dict[str, tuple[datetime | None, bytes | None]],
    by: str | None,
) -> list[Write | Refusal]:
    """What each checked record comes to, in the file's order: written, its refusal audited,
    or its outcome (already there, a duplicate, an ambiguous code) put in `done` at once."""
    steps: list[Write | Refusal] = []
    batch: dict[str, Write] = {}  # written in this batch, by code folded to lower case
    for index, position, given in ready:
        folded = given.case.lower()
        try:
            # A case already stored is that case however the record spells its code (contract v3).
            code = batch[folded].record.case if folded in batch else None
            code = code or spelling(given.case, stored.get(folded, []))
        except AmbiguousCode as exc:
            done[index] = [RecordIssue(position, "case", str(exc))]
            continue
        record = given.model_copy(update={"case": code})
        who = by or record.manager
        supervisor = directories.staff.default_supervisor or ""
        try:
            authorize(
                directories,
                by=who,
                power="act",
                action="import the case",
                code=code,
                manager=record.manager,
                supervisor=supervisor,
            )
        except (UnknownStaff, NotAllowed) as exc:
            steps.append(Refusal(code, who, exc.as_data()["error"]))
            done[index] = [RecordIssue(position, "manager", str(exc))]
            continue
        mine = record.model_dump(mode="json")
        if folded in batch:
            twin = batch[folded]
            same = twin.record.model_dump(mode="json") == mine
            done[index] = "already-there" if same else _duplicate(position, code)
            if same:
                twin.twins.append(index)
        elif code in kept:
            done[index] = _existing(store, position, code, kept[code], mine)
        else:
            batch[folded] = Write(index, position, record, who)
            steps.append(batch[folded])
    return steps


def _existing(
    store: Store,
    position: int,
    code: str,
    kept: tuple[datetime | None, bytes | None],
    mine: dict[str, Any],
) -> Outcome:
    """A record whose case is there already: the same record again, or a refusal."""
    purged_at, sealed = kept
    if purged_at is not None:
        return [
            RecordIssue(position, "case", f"case {code} was purged: its code is not used again")
        ]
    if sealed is not None and store.sealer.open(sealed, case=code) == mine:
        return "already-there"
    return _duplicate(position, code)


def _duplicate(position: int, code: str) -> list[RecordIssue]:
    return [
        RecordIssue(
            position,
            "case",
            f"case {code} is already in the case store with other content: a duplicate "
            "(change the record to match, or give the case another code)",
        )
    ]
