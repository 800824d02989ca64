"""Many new plans launched in one transaction (a chunk of `rehab plan launch FILE...`): each
checked as its own launch is, the accepted ones recorded together (their rows written in a few
statements, the audit chain's place taken and its head written once), a refused one only its
own outcome. A plan whose case exists already (a relaunch, a case still active, an imported
one) and a code given twice in the chunk are launched one at a time by `plan_changes.launch`,
after the others, in their order, so what they find is what a run of single launches finds."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from casework.domain.case import Case
from casework.domain.events import ApprovalRequested, Event, PlanLaunched
from casework.services import plan_changes
from casework.services.unit_of_work import Changed, changed_row, notices_of, told_supervisor
from casework.store.audit_rows import audit
from casework.store.case_mapping import save_domain
from casework.store.case_marks import make_due
from casework.store.codes import lock_codes, stored_spellings
from casework.store.db import Store
from casework.store.outbox_rows import queue_notices
from casework.store.repository import create_case_row
from casework.store.tables import CaseRow
from plans.directories import Directories
from plans.model import Plan

Outcome = Changed | Exception  # a launch's result, or why it was refused (or failed)


@dataclass
class _New:
    """A plan for a case no one has yet, checked: where its outcome goes, its case."""

    index: int
    plan: Plan
    by: str
    supervisor: str
    case: Case
    row: CaseRow | None = None


def launch_all(
    store: Store,
    directories: Directories,
    *,
    plans: Sequence[Plan],
    by: str | None,
    now: datetime,
    approval_required: bool,
    followed_up_by: datetime | None = None,
) -> list[Outcome]:
    """`plan_changes.launch` of each plan (by `by`, or its case manager), one outcome per plan
    in order; the new cases among them recorded in one transaction. If the database refuses
    that transaction, nothing of it is kept and each is launched on its own."""
    outcomes: list[Outcome | None] = [None] * len(plans)
    with store.session() as session:
        known = stored_spellings(session, [p.case for p in plans])
    one_by_one, new = _sorted(
        store, directories, plans, known, by=by, now=now, approval_required=approval_required
    )
    for index, refused in [(i, o) for i, o in new.items() if isinstance(o, Exception)]:
        outcomes[index] = refused
    checked = [o for o in new.values() if isinstance(o, _New)]
    try:
        recorded, racing = _record(store, directories, checked, now=now, due=followed_up_by)
    except Exception:  # nothing of it kept: each launched on its own says what stops it
        recorded, racing = {}, [n.index for n in checked]
    for index, changed in recorded.items():
        outcomes[index] = changed
    for index in sorted(one_by_one + racing):
        try:
            outcomes[index] = plan_changes.launch(
                store,
                directories,
                plan=plans[index],
                by=by or plans[index].manager,
                now=now,
                approval_required=approval_required,
                followed_up_by=followed_up_by,
            )
        except Exception as exc:  # refused (or failed): its outcome, and the others go on
            outcomes[index] = exc
    return [o for o in outcomes if o is not None]


def _sorted(
    store: Store,
    directories: Directories,
    plans: Sequence[Plan],
    known: dict[str, list[str]],
    *,
    by: str | None,
    now: datetime,
    approval_required: bool,
) -> tuple[list[int], dict[int, _New | Exception]]:
    """The plans launched one at a time (their case exists, or their code came earlier in
    the chunk), and the others, each checked: ready to record, or refused."""
    one_by_one: list[int] = []
    new: dict[int, _New | Exception] = {}
    seen: set[str] = set()
    for index, plan in enumerate(plans):
        folded = plan.case.lower()
        if folded in known or folded in seen:
            one_by_one.append(index)
            continue
        seen.add(folded)
        try:
            new[index] = _checked(
                store,
                directories,
                index,
                plan,
                by=by or plan.manager,
                now=now,
                approval_required=approval_required,
            )
        except Exception as exc:  # refused: its outcome, and the others go on
            new[index] = exc
    return one_by_one, new


def _checked(
    store: Store,
    directories: Directories,
    index: int,
    plan: Plan,
    *,
    by: str,
    now: datetime,
    approval_required: bool,
) -> _New:
    """A new case's launch checked as `plan_changes.launch` checks it (who launches it, what
    its plan names); its case made, not yet recorded."""
    supervisor = directories.supervisor_of(plan) or ""
    plan_changes.guard_launch(store, directories, plan, by=by, supervisor=supervisor, now=now)
    plan_changes.refuse_naming(plan, plan.person)
    case = Case.new(plan, plan.start_utc(now), approval_required=approval_required)
    return _New(index, plan, by, supervisor, case)


def _record(
    store: Store,
    directories: Directories,
    checked: list[_New],
    *,
    now: datetime,
    due: datetime | None,
) -> tuple[dict[int, Changed], list[int]]:
    """Record the checked launches in one transaction, holding their codes: what each did, by
    index, and the indexes of those whose code a case took meanwhile (in any spelling: each
    is launched on its own afterwards). `due`: when the clock takes them if their launcher has
    not followed them up."""
    if not checked:
        return {}, []
    outcomes: dict[int, Changed] = {}
    with store.session() as session:
        lock_codes(session, [n.plan.case for n in checked])
        taken = stored_spellings(session, [n.plan.case for n in checked])
        racing = [n for n in checked if n.plan.case.lower() in taken]
        fresh = [n for n in checked if n.plan.case.lower() not in taken]
        for n in fresh:
            n.row = create_case_row(
                session,
                sealer=store.sealer,
                plan=n.plan,
                supervisor=n.supervisor,
                case=n.case,
                by=n.by,
                now=now,
            )
        session.flush()  # the cases together, for their ids
        for n in fresh:
            assert n.row is not None  # made above
            events: list[Event] = [PlanLaunched(now, n.row.episode)]
            if n.case.state == "awaiting-approval":
                events.append(ApprovalRequested(now, n.row.episode))
            save_domain(session, row=n.row, case=n.case, now=now)
            make_due(row=n.row, at=due or now)
            audit(
                session,
                sealer=store.sealer,
                case_code=n.row.code,
                actor=n.by,
                action="launch",
                now=now,
            )
            told = told_supervisor(directories, n.row)
            queue_notices(session, notices=notices_of(events, n.case, told), now=now)
            outcomes[n.index] = changed_row(n.row, events)
    return outcomes, [n.index for n in racing]
