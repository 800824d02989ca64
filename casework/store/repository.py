"""A case's rows: found by its code (however typed), made and added to. Keyword-only."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, selectinload

from casework.domain.case import Case
from casework.store.codes import spelled_otherwise, take_write_lock
from casework.store.crypto import Sealer
from casework.store.errors import CaseNotFound, CasePurged, NoPlanYet
from casework.store.tables import CaseRow, ConsentRow, PlanRevisionRow, StepRow
from plans.model import Person, Plan, Step

MANY_AT_ONCE = 500  # codes in one IN (...), well under either database's limit on bound values


def hold_case(session: Session, *, code: str) -> None:
    """Hold the case for this transaction's change, before it is read: a change racing it
    waits until it commits and then reads what it wrote, rather than being refused at its end
    for a version it never saw. SQLite takes its one write lock now instead of at the first
    write (its reads before that see no transaction at all); elsewhere the case's row is locked."""
    if session.get_bind().dialect.name == "sqlite":
        take_write_lock(session)
        return
    held = select(CaseRow.id).with_for_update()
    # The code as stored first (what the engine passes): one statement, not a lookup and then
    # the lock. Only a code typed in other letters looks its stored spelling up.
    if session.execute(held.where(CaseRow.code == code)).first() is None:
        spelled = spelled_otherwise(session, code)
        if spelled != code:
            session.execute(held.where(CaseRow.code == spelled))


def _with_its_rows(query: Select[CaseRow]) -> Select[CaseRow]:
    return query.options(
        selectinload(CaseRow.revisions),
        selectinload(CaseRow.consents),
        selectinload(CaseRow.steps).selectinload(StepRow.check_ins),
    )


def find_case_row(session: Session, *, code: str) -> CaseRow | None:
    """The case's row with its revisions, steps and consents, or None; `code` in any case."""
    # The exact spelling by the unique index first, loaded at once; a miss looks the stored
    # spelling up (codes.spelled_otherwise) and loads that.
    row = session.scalars(_with_its_rows(select(CaseRow).where(CaseRow.code == code))).first()
    if row is not None:
        return row
    spelled = spelled_otherwise(session, code)
    if spelled == code:
        return None
    return session.scalars(
        _with_its_rows(select(CaseRow).where(CaseRow.code == spelled))
    ).one_or_none()


def find_case_rows(session: Session, *, codes: list[str]) -> dict[str, CaseRow]:
    """The rows of these cases, by their codes as stored, loaded together with their
    revisions, steps and consents (a few statements for all of them); a code without a case
    is missing there."""
    found: dict[str, CaseRow] = {}
    for first in range(0, len(codes), MANY_AT_ONCE):
        some = codes[first : first + MANY_AT_ONCE]
        query = _with_its_rows(select(CaseRow).where(CaseRow.code.in_(some)))
        found |= {row.code: row for row in session.scalars(query)}
    return found


def get_case_row(session: Session, *, code: str) -> CaseRow:
    """The case's row; CaseNotFound naming the code if there is none, CasePurged if it was
    erased."""
    row = find_case_row(session, code=code)
    if row is None:
        raise CaseNotFound(code)
    if row.purged_at is not None:
        raise CasePurged(code, f"{row.purged_at:%Y-%m-%d}")
    return row


def has_plan(row: CaseRow) -> bool:
    """False for a case imported without a plan that has not been launched since."""
    return any(r.episode == row.episode and r.revision == row.revision for r in row.revisions)


def current_plan(row: CaseRow) -> Plan:
    """The case's current plan revision (it holds no personal data); NoPlanYet for a case
    imported and not launched since."""
    revision = next(
        (r for r in row.revisions if r.episode == row.episode and r.revision == row.revision),
        None,
    )
    if revision is None:
        raise NoPlanYet(row.code, row.state)
    return Plan.model_validate(revision.plan)


def step_as_planned(row: CaseRow, step_id: str) -> Step | None:
    """The step as the newest revision of the current episode that has it describes it: a
    step an amendment removed is still described as it was when its partner was told."""
    revisions = sorted(
        (r for r in row.revisions if r.episode == row.episode),
        key=lambda r: r.revision,
        reverse=True,
    )
    for revision in revisions:
        for step in revision.plan.get("steps", []):
            if step.get("id") == step_id:
                return Step.model_validate(step)
    return None


def create_case_row(
    session: Session,
    *,
    sealer: Sealer,
    plan: Plan,
    supervisor: str,
    case: Case,
    by: str,
    now: datetime,
) -> CaseRow:
    """A new case with revision 1 of its plan; the person's data sealed."""
    row = CaseRow(
        code=plan.case,
        episode=1,
        state=case.state,
        manager=plan.manager,
        supervisor=supervisor,
        template=plan.template,
        revision=1,
        start=case.start,
        approved_at=case.approved_at,
        created_at=now,
        updated_at=now,
        revisions=[],
        steps=[],
        consents=[],
    )
    set_person(row=row, sealer=sealer, person=plan.person)
    session.add(row)
    row.revisions.append(
        PlanRevisionRow(
            episode=1,
            revision=1,
            plan=plan.without_person().model_dump(mode="json"),
            created_by=by,
            created_at=now,
        )
    )
    return row


def start_episode(
    *,
    row: CaseRow,
    sealer: Sealer,
    plan: Plan,
    supervisor: str,
    start: datetime,
    by: str,
    now: datetime,
) -> None:
    """A relaunch of an ended case: the next episode, with revision 1 of its plan; the
    earlier episodes' history stays."""
    row.episode += 1
    row.revision, row.start, row.flow_run_id = 1, start, None
    row.manager, row.supervisor, row.template = plan.manager, supervisor, plan.template
    if plan.person is not None:  # without one, the person kept in the store stays
        set_person(row=row, sealer=sealer, person=plan.person)
    row.revisions.append(
        PlanRevisionRow(
            episode=row.episode,
            revision=1,
            created_by=by,
            created_at=now,
            plan=plan.without_person().model_dump(mode="json"),
        )
    )


def set_person(*, row: CaseRow, sealer: Sealer, person: Person | None) -> None:
    """The person's data, sealed with the case's data key (None: no data)."""
    row.person_sealed = (
        None if person is None else sealer.seal(person.model_dump(mode="json"), case=row.code)
    )


def add_revision(
    session: Session, *, row: CaseRow, plan: Plan, supervisor: str, by: str, now: datetime
) -> int:
    """Store the next revision of the plan and make it current, with the case manager and
    supervisor it names (who is told and who decides from now on); returns its number."""
    row.revision += 1
    row.manager, row.supervisor, row.template = plan.manager, supervisor, plan.template
    row.revisions.append(
        PlanRevisionRow(
            episode=row.episode,
            revision=row.revision,
            plan=plan.without_person().model_dump(mode="json"),
            created_by=by,
            created_at=now,
        )
    )
    return row.revision


def read_person(sealer: Sealer, row: CaseRow) -> Person | None:
    """The person's data, decrypted (for the case manager's eyes only)."""
    if row.person_sealed is None:
        return None
    return Person.model_validate(sealer.open(row.person_sealed, case=row.code))


def add_consent(
    session: Session,
    *,
    sealer: Sealer,
    row: CaseRow,
    scope: str,
    status: str,
    by: str,
    now: datetime,
    note: str | None,
) -> None:
    """Append a consent decision; earlier ones stay."""
    row.consents.append(
        ConsentRow(
            case_id=row.id,
            episode=row.episode,
            scope=scope,
            status=status,
            by=by,
            at=now,
            note_sealed=sealer.seal_text(note, case=row.code),
        )
    )
