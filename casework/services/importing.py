"""Bringing in cases that began before rehab (`rehab case import`), so the programme's cumulative
figures are whole. A batch of records to a transaction, a SAVEPOINT each: a case is recorded,
not launched. An open one is in state `imported` (no plan, no flow run, never on the clock)
until `rehab plan launch` starts its plan as a new episode; a closed one is in its outcome's
state (completed, cancelled, terminated), like any ended case. When the person was identified
and how the case ended live in `imported_cases`, which a later launch leaves alone; consents
are consent rows of episode 1 with their own dates. A date is kept as noon of that day in the
programme's time zone (the staff directory's, else the plans' default), so a period cut in any
nearby zone puts it on that day."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from casework.domain.access import authorize
from casework.domain.case import IMPORTED
from casework.domain.errors import NotAllowed, UnknownStaff
from casework.services.import_checks import canonical, check_record
from casework.services.person import held_fields
from casework.store import audit_chain
from casework.store.audit_rows import audit
from casework.store.codes import lock_code, stored_code
from casework.store.db import Store
from casework.store.errors import AmbiguousCode
from casework.store.repository import set_person
from casework.store.tables import CaseRow, ConsentRow, ImportedCaseRow
from plans.dates import moment
from plans.directories import Directories
from plans.errors import RecordIssue
from plans.imports import ImportRecord
from plans.model import DEFAULT_TIMEZONE

Done = Literal["imported", "already-there"]


def _existing(
    session: Session, store: Store, row: CaseRow, record: ImportRecord, position: int
) -> Done | list[RecordIssue]:
    """A record whose case is there already: the same record again, or a refusal."""
    if row.purged_at is not None:
        return [
            RecordIssue(position, "case", f"case {row.code} was purged: its code is not used again")
        ]
    imported = session.scalars(
        select(ImportedCaseRow).where(ImportedCaseRow.case_id == row.id)
    ).one_or_none()
    same = imported is not None and store.sealer.open(
        imported.record_sealed, case=row.code
    ) == record.model_dump(mode="json")
    if same:
        return "already-there"
    return [
        RecordIssue(
            position,
            "case",
            f"case {row.code} is already in the case store with other content: a duplicate "
            "(change the record to match, or give the case another code)",
        )
    ]


def _record(
    session: Session,
    store: Store,
    directories: Directories,
    record: ImportRecord,
    *,
    by: str,
    now: datetime,
) -> None:
    """Write the case, its consents, its import row and the audit row, in `session`."""
    tz = ZoneInfo(directories.staff.timezone or DEFAULT_TIMEZONE)  # the programme's zone
    state = record.outcome or IMPORTED
    closed = None if record.closed_on is None else moment(record.closed_on, tz)
    row = CaseRow(
        code=record.case,
        episode=1,
        state=state,
        manager=record.manager,
        supervisor=directories.staff.default_supervisor or "",
        template=None,
        revision=0,  # no plan in rehab yet
        start=moment(record.identified_on, tz),
        approved_at=None,
        reason=f"rule {record.rule} breached" if record.rule else None,
        wake_at=None,  # never on the clock
        created_at=now,
        # Retention counts from the day the case closed, as for a case closed in rehab.
        updated_at=closed or now,
        revisions=[],
        steps=[],
        consents=[],
    )
    set_person(row=row, sealer=store.sealer, person=record.person)
    session.add(row)
    session.flush()
    for consent in sorted(record.consents, key=lambda c: c.date):
        row.consents.append(
            ConsentRow(
                case_id=row.id,
                episode=1,
                scope=consent.scope,
                status="given" if consent.given else "refused",
                by=consent.by,
                at=moment(consent.date, tz),
                note_sealed=None,
            )
        )
    session.add(
        ImportedCaseRow(
            case_id=row.id,
            identified_on=record.identified_on,
            closed_on=record.closed_on,
            outcome=record.outcome,
            rule=record.rule,
            record_sealed=store.sealer.seal(record.model_dump(mode="json"), case=row.code),
            imported_by=by,
            imported_at=now,
        )
    )
    audit(
        session,
        sealer=store.sealer,
        case_code=record.case,
        actor=by,
        action="case-imported",
        now=now,
        detail={
            "state": state,
            "consents": [f"{c.scope}:{'given' if c.given else 'refused'}" for c in record.consents],
            "fields": held_fields(record.person),
        },
    )


BATCH = 250  # records per transaction (sharing its commit and the audit head's move); divides 500


def import_record(
    store: Store,
    directories: Directories,
    record: ImportRecord,
    *,
    position: int,
    by: str | None,
    now: datetime,
) -> Done | list[RecordIssue]:
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
) -> list[Done | list[RecordIssue]]:
    """Bring in (position, record) pairs, BATCH to a transaction, each record in a SAVEPOINT
    of its own: a refused record leaves nothing behind and the others go in. For each:
    "imported", "already-there", or why it was refused. `by`: on whose behalf (default: its
    manager), who must be allowed to launch the case (its manager, its supervisor or a
    director)."""
    done: list[Done | list[RecordIssue]] = []
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
) -> list[Done | list[RecordIssue]]:
    today = now.astimezone(ZoneInfo(DEFAULT_TIMEZONE)).date()
    done: list[Done | list[RecordIssue] | None] = []
    ready: list[tuple[int, int, ImportRecord]] = []
    for position, record in records:
        issues = check_record(directories, record, position=position, today=today)
        done.append(issues or None)
        if not issues:
            ready.append((len(done) - 1, position, canonical(record)))
    if not ready:
        return [d for d in done if d is not None]
    with store.session() as session:
        # New cases' data keys in one write of the keyring, not one (and its sync) each.
        lowered = [r.case.lower() for _, _, r in ready]
        there = set(
            session.scalars(
                select(func.lower(CaseRow.code)).where(func.lower(CaseRow.code).in_(lowered))
            )
        )
        store.sealer.ensure_case_keys([r.case for _, _, r in ready if r.case.lower() not in there])
        for index, position, record in ready:
            done[index] = _one(
                session, store, directories, record, position=position, by=by, now=now
            )
    return [d for d in done if d is not None]


def _one(
    session: Session,
    store: Store,
    directories: Directories,
    record: ImportRecord,
    *,
    position: int,
    by: str | None,
    now: datetime,
) -> Done | list[RecordIssue]:
    """One record of a batch, in `session`."""
    # A case already stored is that case however the record spells its code (contract v3).
    try:
        record = record.model_copy(update={"case": stored_code(session, record.case)})
    except AmbiguousCode as exc:
        return [RecordIssue(position, "case", str(exc))]
    who = by or record.manager
    try:
        authorize(
            directories,
            by=who,
            power="act",
            action="import the case",
            code=record.case,
            manager=record.manager,
            supervisor=directories.staff.default_supervisor or "",
        )
    except (UnknownStaff, NotAllowed) as exc:
        why = exc.as_data()["error"]
        with audit_chain.savepoint(session):  # in this transaction: it holds the audit chain
            audit(
                session,
                sealer=store.sealer,
                case_code=record.case,
                actor=who,
                action="refused",
                now=now,
                detail={"doing": "import the case", "why": why},
            )
        return [RecordIssue(position, "manager", str(exc))]
    try:
        with audit_chain.savepoint(session):
            lock_code(session, record.case)  # one case per code, however its letters are typed
            record = record.model_copy(update={"case": stored_code(session, record.case)})
            row = session.scalars(select(CaseRow).where(CaseRow.code == record.case)).one_or_none()
            if row is not None:
                return _existing(session, store, row, record, position)
            _record(session, store, directories, record, by=who, now=now)
    except (IntegrityError, StaleDataError):  # the same code written at the same moment
        return [
            RecordIssue(
                position,
                "case",
                f"case {record.case} was written by someone else "
                "at the same moment; import the file again",
            )
        ]
    return "imported"
