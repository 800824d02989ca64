"""What people record on a case: approvals, consent, check-ins, completed steps, breaches.
Each is refused (and the refusal audited) unless the person's role allows it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from casework.domain import transitions
from casework.domain.access import Power
from casework.domain.case import ConsentStatus, RecordedOutcome
from casework.domain.decision_kinds import amendment_scope, approval_scope, check_in_scope
from casework.domain.errors import PersonNamed, UnknownScope
from casework.services.unit_of_work import CaseChange, Changed, guard, record_refusal
from casework.store.db import Store
from casework.store.decisions import record_decision
from casework.store.repository import add_consent, get_case_row, read_person
from plans.directories import Directories
from plans.screening import names_person


@contextmanager
def person_change(
    store: Store,
    directories: Directories,
    code: str,
    *,
    by: str,
    power: Power,
    doing: str,
    action: str,
    now: datetime,
    note: str | None = None,
    detail: dict[str, Any] | None = None,
    new_schedule: bool = False,
    screened: bool = True,
) -> Iterator[CaseChange]:
    """A person's change, if their role allows it (`power`, `doing` naming it): one audit row
    naming them (and its note, sealed; `screened`: refused if it names the person); the plan
    looks at the case at once."""
    with store.session() as session:
        row = get_case_row(session, code=code)
        code = row.code  # as stored, however it was typed
        manager, supervisor = row.manager, row.supervisor
        person = read_person(store.sealer, row)
    guard(
        store,
        directories,
        by=by,
        power=power,
        doing=doing,
        code=code,
        manager=manager,
        supervisor=supervisor,
        now=now,
    )
    if screened and note is not None and person is not None and names_person(note, person):
        record_refusal(store, code=code, by=by, doing=doing, why="note-names-person", now=now)
        raise PersonNamed(code, "the note")
    with CaseChange(
        store, code, now=now, directories=directories, new_schedule=new_schedule, due_now=True
    ) as work:
        work.audit(action, actor=by, detail=detail, note=note)
        yield work


def approve(
    store: Store,
    directories: Directories,
    *,
    code: str,
    by: str,
    now: datetime,
    comment: str | None = None,
) -> Changed:
    """The case's supervisor (or a director) approves what waits for approval: the plan, or
    the steps and partners its amendments added."""
    with person_change(
        store,
        directories,
        code,
        by=by,
        power="approve",
        doing="approve the plan",
        action="approve",
        now=now,
        note=comment,
    ) as work:
        if work.case.state == "awaiting-approval":
            work.events += transitions.approve(work.case, now)
            kind, scope = "approval", approval_scope(work.row.revision)
        else:
            work.events += transitions.approve_amendment(work.case, now)
            kind, scope = "amendment", amendment_scope(work.row.revision)
        record_decision(
            work.session, case=work.row, kind=kind, scope=scope, decision="approved", by=by, now=now
        )
    return work.changed


def record_consent(
    store: Store,
    directories: Directories,
    *,
    code: str,
    scopes: list[str],
    status: ConsentStatus,
    by: str,
    now: datetime,
    note: str | None = None,
) -> Changed:
    """Record consent given, refused or withdrawn for some scopes."""
    with person_change(
        store,
        directories,
        code,
        by=by,
        power="act",
        doing="record consent",
        action=f"consent-{status}",
        now=now,
        note=note,
        detail={"scopes": ",".join(scopes)},
    ) as work:
        # A plan launched before scopes were checked may need one the programme no longer
        # knows: its consent can still be recorded and withdrawn.
        known = directories.staff.known_scopes()
        for scope in scopes:
            if scope not in known and scope not in work.case.plan.recordable_scopes:
                raise UnknownScope(work.case.code, scope, known, directories.staff_file)
        work.events += transitions.decide_consent(work.case, scopes, status, now)
        for scope in scopes:
            add_consent(
                work.session,
                sealer=store.sealer,
                row=work.row,
                scope=scope,
                status=status,
                by=by,
                now=now,
                note=note,
            )
            if status != "withdrawn":
                record_decision(
                    work.session,
                    case=work.row,
                    kind="consent",
                    scope=scope,
                    decision=status,
                    by=by,
                    now=now,
                )
    return work.changed


def withdraw_all(
    store: Store,
    directories: Directories,
    *,
    code: str,
    by: str,
    now: datetime,
    note: str | None = None,
) -> Changed:
    """Consent withdrawn entirely: open steps cancelled, partners told, case cancelled."""
    with person_change(
        store,
        directories,
        code,
        by=by,
        power="act",
        doing="withdraw consent",
        action="consent-withdrawn-all",
        now=now,
        note=note,
    ) as work:
        scopes = transitions.withdrawn_by_all(work.case)
        work.events += transitions.withdraw_all(work.case, now)
        for scope in scopes:
            add_consent(
                work.session,
                sealer=store.sealer,
                row=work.row,
                scope=scope,
                status="withdrawn",
                by=by,
                now=now,
                note=note,
            )
    return work.changed


def record_check_in(
    store: Store,
    directories: Directories,
    *,
    code: str,
    step: str,
    outcome: RecordedOutcome,
    by: str,
    now: datetime,
    note: str | None = None,
    seq: int | None = None,
) -> Changed:
    """Record the outcome of a step's check-in (`seq`: that one, as its form asks; else the
    oldest waiting); its form in the UI, if open, is then told."""
    with person_change(
        store,
        directories,
        code,
        by=by,
        power="act",
        doing="record a check-in",
        action="check-in",
        now=now,
        note=note,
        detail={"step": step, "outcome": outcome},
    ) as work:
        target, events = transitions.record_outcome(work.case, step, outcome, by, now, seq=seq)
        work.events += events
        record_decision(
            work.session,
            case=work.row,
            kind="check-in",
            scope=check_in_scope(step, target.seq),
            decision=outcome,
            by=by,
            now=now,
        )
    return work.changed


def complete_step(
    store: Store,
    directories: Directories,
    *,
    code: str,
    step: str,
    by: str,
    now: datetime,
    note: str | None = None,
) -> Changed:
    """Mark an open step completed (its form in the UI, if open, is then told)."""
    with person_change(
        store,
        directories,
        code,
        by=by,
        power="act",
        doing="complete a step",
        action="step-complete",
        now=now,
        note=note,
        detail={"step": step},
    ) as work:
        work.events += transitions.complete_step(work.case, step, now)
        record_decision(
            work.session,
            case=work.row,
            kind="completion",
            scope=step,
            decision="completed",
            by=by,
            now=now,
        )
    return work.changed


def breach(
    store: Store,
    directories: Directories,
    *,
    code: str,
    rule: str,
    by: str,
    now: datetime,
    note: str | None = None,
) -> Changed:
    """A programme rule was broken: the case is terminated."""
    with person_change(
        store,
        directories,
        code,
        by=by,
        power="act",
        doing="report a breach",
        action="rule-breach",
        now=now,
        note=note,
        detail={"rule": rule},
    ) as work:
        work.events += transitions.breach(work.case, rule, now)
    return work.changed
