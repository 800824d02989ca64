"""The rows one imported record becomes (`rehab case import`): its case row with its consents,
its import row, and its audit row, chained in the audit log in the order of the file."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from casework.domain.case import IMPORTED
from casework.services.person import held_fields
from casework.store import audit_chain
from casework.store.audit_rows import audit
from casework.store.db import Store
from casework.store.repository import set_person
from casework.store.tables import CaseRow, ConsentRow, ImportedCaseRow
from plans.dates import moment
from plans.directories import Directories
from plans.errors import RecordIssue
from plans.imports import ImportRecord
from plans.model import DEFAULT_TIMEZONE


@dataclass
class Write:
    """A record to write: where its outcome goes, and the same record again later in the batch."""

    index: int
    position: int
    record: ImportRecord
    by: str
    twins: list[int] = field(default_factory=list)


@dataclass
class Refusal:
    """A record its `by` may not import: an audit row of the refusal, in its place."""

    code: str
    by: str
    why: str


def case_row(
    store: Store, directories: Directories, record: ImportRecord, *, now: datetime
) -> CaseRow:
    """The record's case row, with its consents and the person sealed with its data key."""
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
        consents=[
            ConsentRow(
                episode=1,
                scope=consent.scope,
                status="given" if consent.given else "refused",
                by=consent.by,
                at=moment(consent.date, tz),
                note_sealed=None,
            )
            for consent in sorted(record.consents, key=lambda c: c.date)
        ],
    )
    set_person(row=row, sealer=store.sealer, person=record.person)
    return row


def finish(
    session: Session, store: Store, row: CaseRow, record: ImportRecord, *, by: str, now: datetime
) -> None:
    """The import row and the audit row of a case row already flushed (it has its id)."""
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
            "state": row.state,
            "consents": [f"{c.scope}:{'given' if c.given else 'refused'}" for c in record.consents],
            "fields": held_fields(record.person),
        },
    )


def refusal(session: Session, store: Store, code: str, *, by: str, why: str, now: datetime) -> None:
    """The audit row of a record refused because `by` may not import it."""
    audit(
        session,
        sealer=store.sealer,
        case_code=code,
        actor=by,
        action="refused",
        now=now,
        detail={"doing": "import the case", "why": why},
    )


def write(
    session: Session,
    store: Store,
    directories: Directories,
    steps: list[Write | Refusal],
    done: list[Any],
    *,
    now: datetime,
) -> set[str]:
    """Write the planned rows, all in one SAVEPOINT; if the database refuses any, each again in
    a SAVEPOINT of its own. Returns the codes of the records it refused."""
    writes = [s for s in steps if isinstance(s, Write)]
    try:
        with audit_chain.savepoint(session):
            rows = {id(w): case_row(store, directories, w.record, now=now) for w in writes}
            session.add_all(rows.values())
            session.flush()  # the cases together, for their ids
            for step in steps:
                if isinstance(step, Write):
                    finish(session, store, rows[id(step)], step.record, by=step.by, now=now)
                else:
                    refusal(session, store, step.code, by=step.by, why=step.why, now=now)
    except (IntegrityError, StaleDataError):
        return _write_each(session, store, directories, steps, done, now=now)
    for write in writes:
        done[write.index] = "imported"
    return set()


def _write_each(
    session: Session,
    store: Store,
    directories: Directories,
    steps: list[Write | Refusal],
    done: list[Any],
    *,
    now: datetime,
) -> set[str]:
    """Each planned record in a SAVEPOINT of its own; returns the codes of those refused."""
    refused: set[str] = set()
    for step in steps:
        if isinstance(step, Refusal):
            with audit_chain.savepoint(session):
                refusal(session, store, step.code, by=step.by, why=step.why, now=now)
            continue
        try:
            with audit_chain.savepoint(session):
                row = case_row(store, directories, step.record, now=now)
                session.add(row)
                session.flush()
                finish(session, store, row, step.record, by=step.by, now=now)
        except (IntegrityError, StaleDataError) as exc:
            refused.add(step.record.case)
            issue = RecordIssue(
                step.position,
                "case",
                f"case {step.record.case} was refused by the case store "
                f"({_reason(exc)}): nothing of it was kept; import the file "
                "again once that is put right",
            )
            for index in (step.index, *step.twins):
                done[index] = [issue]
            continue
        done[step.index] = "imported"
    return refused


def _reason(exc: IntegrityError | StaleDataError) -> str:
    """The kind of the database's refusal, never its text (it may quote the row's values)."""
    orig = getattr(exc, "orig", None)
    return type(orig or exc).__name__
