"""Ending a case for a reason (`rehab case close`): a person ends a living case because the
person moved away, lost contact, was transferred to another organisation, died, or met the
plan's goals. Pure Python, as transitions.py.

The contract's five case states stay the only states: `goals-met` ends the case `completed`,
every other reason `cancelled`. The reason is kept in the case's `reason` as
`closed: <reason>` (the same words its cancelled steps carry), and the organisation a
`transferred` case went to in `closed_to`, never in `reason`: the reason reaches Prefect (the
run's state message), the organisation's name stays in the case store."""

from __future__ import annotations

from datetime import datetime

from casework.domain.case import Case
from casework.domain.errors import CaseNotInState, ClosedToRefused, UnknownCloseReason
from casework.domain.events import Event, PlanCancelled, PlanCompleted
from casework.domain.transitions import end_all

CLOSE_REASONS = ("moved-away", "lost-contact", "transferred", "deceased", "goals-met")
NEEDS_TO = "transferred"  # the one reason that names where the person went
COMPLETED_BY = "goals-met"  # the one reason that ends a case completed, not cancelled
MAX_TO = 120  # characters of the organisation's name, as a step title's bound
PREFIX = "closed: "  # how a closing reads in the case's `reason`


def closed_reason(reason: str) -> str:
    """The case's (and its cancelled steps') `reason` for a closing: `closed: <reason>`."""
    return PREFIX + reason


def closing_of(reason: str | None) -> str | None:
    """The close reason a case's `reason` records (`moved-away`, ...), or None if it was not
    closed so (consent withdrawn, a breach, every step done)."""
    if reason is None or not reason.startswith(PREFIX):
        return None
    code = reason.removeprefix(PREFIX)
    return code if code in CLOSE_REASONS else None


def check_closing(code: str, reason: str, to: str | None) -> str | None:
    """The organisation's name as kept (stripped), or a refusal naming what is valid: a known
    reason; `to` given (at most MAX_TO characters, one line) for `transferred` alone."""
    if reason not in CLOSE_REASONS:
        raise UnknownCloseReason(code, reason, CLOSE_REASONS)
    name = None if to is None else " ".join(to.split())
    if reason != NEEDS_TO:
        if to is not None:
            raise ClosedToRefused(code, reason, "is only for --reason transferred; leave it out")
        return None
    if not name:
        raise ClosedToRefused(code, reason, "is needed: the organisation the case goes to")
    if len(name) > MAX_TO:
        raise ClosedToRefused(code, reason, f"is {len(name)} characters; at most {MAX_TO}")
    return name


def close(case: Case, reason: str, to: str | None, now: datetime) -> list[Event]:
    """A living case (awaiting approval or active) ends for `reason`: every open or waiting
    step is cancelled (partners of open steps are told, as when consent is withdrawn), and the
    case is completed (`goals-met`) or cancelled (any other reason)."""
    name = check_closing(case.code, reason, to)
    if case.state not in ("awaiting-approval", "active"):
        raise CaseNotInState(case.code, case.state, "close it: it has already ended")
    why = closed_reason(reason)
    events = end_all(case, now, why)
    case.reason, case.closed_to = why, name
    if reason == COMPLETED_BY:
        case.state = "completed"
        events.append(PlanCompleted(now))
    else:
        case.state = "cancelled"
        events.append(PlanCancelled(now, why))
    return events
