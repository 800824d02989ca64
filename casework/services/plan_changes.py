"""A plan's own changes: its launch (or relaunch as a new episode) and its amendments."""

from __future__ import annotations

from datetime import datetime

from casework.domain import transitions
from casework.domain.case import ENDED_CASE, IMPORTED, Case
from casework.domain.errors import CaseAlreadyActive, PersonNamed
from casework.domain.events import ApprovalRequested, Event, PlanLaunched
from casework.services.recording import person_change
from casework.services.unit_of_work import (
    Changed,
    changed_row,
    guard,
    notices_of,
    told_supervisor,
    transaction,
    with_stored_code,
)
from casework.store.audit_rows import audit
from casework.store.case_mapping import save_domain
from casework.store.case_marks import lift_quarantine, make_due
from casework.store.codes import lock_code
from casework.store.db import Store
from casework.store.errors import CasePurged
from casework.store.outbox_rows import queue_notices
from casework.store.repository import (
    add_revision,
    create_case_row,
    find_case_row,
    get_case_row,
    read_person,
    set_person,
    start_episode,
)
from plans.directories import Directories
from plans.model import Person, Plan
from plans.screening import screen


def refuse_naming(plan: Plan, person: Person | None) -> None:
    """A step title or id naming the person would reach partners and Prefect: refused."""
    named = screen(plan, person)
    if named:
        raise PersonNamed(plan.case, named[0])


def guard_launch(
    store: Store,
    directories: Directories,
    plan: Plan,
    *,
    by: str,
    supervisor: str,
    now: datetime,
) -> None:
    """Refuse (and audit) whoever may not launch this plan with the people it names."""
    guard(
        store,
        directories,
        by=by,
        power="act",
        doing="launch the plan",
        code=plan.case,
        manager=plan.manager,
        supervisor=supervisor,
        now=now,
    )


def launch(
    store: Store,
    directories: Directories,
    *,
    plan: Plan,
    by: str,
    now: datetime,
    approval_required: bool,
    followed_up_by: datetime | None = None,
) -> Changed:
    """Record a new plan (or relaunch an ended case as a new episode). `followed_up_by`: the
    launcher starts its run and its first wake itself, so the clock takes the case only if
    that has not happened by then (two followers would both make its run's artifacts)."""
    supervisor = directories.supervisor_of(plan) or ""
    with store.session() as session:
        # Found in any case of its letters: the plan then names the case as it is stored.
        known = find_case_row(session, code=plan.case)
        if known is not None:
            if known.code != plan.case:
                plan = plan.model_copy(update={"case": known.code})
            if known.purged_at is not None:
                raise CasePurged(plan.case, f"{known.purged_at:%Y-%m-%d}")
        stored = None if known is None else (known.manager, known.supervisor)
    if stored is not None:
        # A relaunch is the case's own: judged by the roles it has, not those the file names;
        # naming other people takes its supervisor (or a director).
        same = stored == (plan.manager, supervisor)
        guard(
            store,
            directories,
            by=by,
            power="act" if same else "approve",
            doing="relaunch the case"
            if same
            else "relaunch the case with another manager or supervisor",
            code=plan.case,
            manager=stored[0],
            supervisor=stored[1],
            now=now,
        )
    guard_launch(store, directories, plan, by=by, supervisor=supervisor, now=now)
    with transaction(store, plan.case) as session:
        lock_code(session, plan.case)  # one case per code, however its letters are typed
        row = find_case_row(session, code=plan.case)
        if row is not None and row.purged_at is not None:
            raise CasePurged(plan.case, f"{row.purged_at:%Y-%m-%d}")
        relaunch_of = None if row is None else row.state
        # An imported case still open has no plan in rehab yet: its launch is its first here.
        if row is not None and relaunch_of not in (*ENDED_CASE, IMPORTED):
            raise CaseAlreadyActive(plan.case, row.state)
        refuse_naming(plan, plan.person or (read_person(store.sealer, row) if row else None))
        # A case ended for a breach comes back only with a supervisor's approval.
        needs_approval = approval_required or relaunch_of == "terminated"
        case = Case.new(plan, plan.start_utc(now), approval_required=needs_approval)
        if row is None:
            row = create_case_row(
                session,
                sealer=store.sealer,
                plan=plan,
                supervisor=supervisor,
                case=case,
                by=by,
                now=now,
            )
            session.flush()
        else:
            start_episode(
                row=row,
                sealer=store.sealer,
                plan=plan,
                supervisor=supervisor,
                start=case.start,
                by=by,
                now=now,
            )
        events: list[Event] = [PlanLaunched(now, row.episode)]
        if case.state == "awaiting-approval":
            events.append(ApprovalRequested(now, row.episode))
        save_domain(session, row=row, case=case, now=now)
        make_due(row=row, at=followed_up_by or now)  # its run must start (the clock makes sure)
        detail = {"episode": row.episode, "relaunch_of": relaunch_of} if relaunch_of else {}
        audit(
            session,
            sealer=store.sealer,
            case_code=row.code,
            actor=by,
            action="launch",
            now=now,
            detail=detail,
        )
        notices = notices_of(events, case, told_supervisor(directories, row))
        queue_notices(session, notices=notices, now=now)
        return changed_row(row, events)


def amend(store: Store, directories: Directories, *, plan: Plan, by: str, now: datetime) -> Changed:
    """Store a new revision of a running plan; it applies to what has not happened yet."""
    plan = with_stored_code(store, plan)
    supervisor = directories.supervisor_of(plan) or ""
    with store.session() as session:
        row = get_case_row(session, code=plan.case)
        same_people = (row.manager, row.supervisor) == (plan.manager, supervisor)
    with person_change(
        store,
        directories,
        plan.case,
        by=by,
        # Who manages or supervises a case is changed only by its supervisor or a director.
        power="act" if same_people else "approve",
        doing="amend the plan" if same_people else "change who manages or supervises the case",
        action="amend",
        now=now,
        new_schedule=True,
    ) as work:
        row, case = work.row, work.case
        refuse_naming(plan, plan.person or read_person(store.sealer, row))
        sent_back = case.sent_back_at is not None
        work.events += transitions.amend(case, plan, now, revision=row.revision + 1)
        if sent_back:  # amended as its supervisor asked: she is asked again
            work.events.append(ApprovalRequested(now, row.episode, revision=row.revision + 1))
        elif supervisor != row.supervisor and case.state == "awaiting-approval":
            # The new supervisor decides now: they are asked, as the first one was.
            work.events.append(ApprovalRequested(now, row.episode))
        add_revision(work.session, row=row, plan=plan, supervisor=supervisor, by=by, now=now)
        # The fix for a case the engine set aside: the next wake tries the new revision.
        lift_quarantine(work.session, sealer=store.sealer, row=row, by=by, why="amended", now=now)
        if plan.person is not None:
            set_person(row=row, sealer=store.sealer, person=plan.person)
    return work.changed
