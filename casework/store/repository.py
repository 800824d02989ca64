"""Reading and writing cases: rows in, domain objects out, and back. Keyword-only on purpose."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, selectinload

from casework.domain.case import Case, CheckIn, Consent, StepProgress, check_in_time, next_wake
from casework.store.codes import spelled_otherwise, take_write_lock
from casework.store.crypto import Sealer
from casework.store.errors import CaseNotFound, CasePurged, NoPlanYet
from casework.store.tables import CaseRow, CheckInRow, ConsentRow, PlanRevisionRow, StepRow
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


def to_domain(row: CaseRow) -> Case:
    """The domain case of the row's current episode."""
    case = Case(
        code=row.code,
        plan=current_plan(row),
        start=row.start,
        state=row.state,  # type: ignore[arg-type]  # validated on write
        approved_at=row.approved_at,
        reason=row.reason,
        closed_to=row.closed_to,
        sent_back_by=row.sent_back_by,
        sent_back_at=row.sent_back_at,
    )
    for srow in row.steps:
        if srow.episode != row.episode:
            continue
        case.steps[srow.step_id] = StepProgress(
            srow.step_id,
            srow.state,  # type: ignore[arg-type]  # validated on write
            srow.started_at,
            srow.ended_at,
            srow.overdue_level,
            srow.reason,
            [
                CheckIn(c.seq, c.at, c.outcome, c.recorded_by, c.escalated)  # type: ignore[arg-type]  # validated on write
                for c in srow.check_ins
            ],
            srow.needs_approval,
            srow.referral,  # type: ignore[arg-type]  # validated on write
            srow.accepted,
            bool(srow.acknowledge_told),
            srow.answered_at,
        )
    for crow in row.consents:
        if crow.episode == row.episode:
            case.consents[crow.scope] = Consent(crow.status, crow.at)  # type: ignore[arg-type]  # validated on write
    return case


def save_domain(session: Session, *, row: CaseRow, case: Case, now: datetime) -> None:
    """Write the domain case's state back onto its rows; the version check guards races."""
    row.state, row.approved_at, row.reason = case.state, case.approved_at, case.reason
    row.closed_to = case.closed_to
    row.sent_back_by, row.sent_back_at = case.sent_back_by, case.sent_back_at
    if row.quarantined_at is None:  # a quarantined case wakes only when its Prefect side is due
        row.wake_at = next_wake(case)
    row.updated_at = now
    existing = {s.step_id: s for s in row.steps if s.episode == row.episode}
    planned = {s.id: s for s in case.plan.steps}
    for run in case.steps.values():
        srow = existing.get(run.id)
        if srow is None:
            srow = StepRow(case_id=row.id, episode=row.episode, step_id=run.id, check_ins=[])
            row.steps.append(srow)
        srow.state, srow.started_at, srow.ended_at = run.state, run.started_at, run.ended_at
        srow.overdue_level, srow.reason = run.overdue_level, run.reason
        srow.needs_approval = run.needs_approval
        if srow.accepted != run.accepted:
            srow.accepted = run.accepted
        if bool(srow.acknowledge_told) != run.acknowledge_told:
            srow.acknowledge_told = run.acknowledge_told
        if srow.answered_at != run.answered_at:
            srow.answered_at = run.answered_at
        if srow.referral != run.referral:  # the outbox writes it too: only a change is written
            srow.referral = run.referral
        step = planned.get(run.id)
        next_at = (
            check_in_time(step, run, len(run.check_ins))
            if step is not None and run.state == "open"
            else None
        )
        if srow.next_check_in_at != next_at:
            srow.next_check_in_at = next_at
        by_seq = {c.seq: c for c in srow.check_ins}
        for ci in run.check_ins:
            crow = by_seq.get(ci.seq)
            if crow is None:
                srow.check_ins.append(
                    CheckInRow(
                        seq=ci.seq,
                        at=ci.at,
                        outcome=ci.outcome,
                        escalated=ci.escalated,
                        recorded_by=ci.recorded_by,  # come and answered in one change
                        recorded_at=now if ci.recorded_by else None,
                    )
                )
                continue
            if (crow.outcome, crow.recorded_by) != (ci.outcome, ci.recorded_by):
                crow.outcome, crow.recorded_by = ci.outcome, ci.recorded_by
                crow.recorded_at = now
            crow.escalated = ci.escalated


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
