"""Closing a case for a reason (casework/domain/closing.py): which state it ends in, what
becomes of its steps, and what `--to` must be."""

from __future__ import annotations

import pytest

from casework.domain import closing
from casework.domain.case import Case, next_wake
from casework.domain.errors import CaseNotInState, ClosedToRefused, UnknownCloseReason
from casework.domain.time_passes import advance
from flows.shown.tags import state_message
from report.vocabulary import CLOSINGS
from tests.conftest import T0
from tests.unit.test_domain import S, active, kinds, make_plan, step


def opened() -> Case:
    case = active(make_plan(step("a"), step("b", start="1h")))
    advance(case, T0)
    return case


@pytest.mark.parametrize("reason", ["moved-away", "lost-contact", "deceased"])
def test_closing_for_a_reason_other_than_goals_met_cancels_the_case(reason: str) -> None:
    case = opened()
    events = closing.close(case, reason, None, T0 + S)
    assert case.state == "cancelled"
    assert case.reason == f"closed: {reason}" and case.closed_to is None
    assert closing.closing_of(case.reason) == reason
    assert {r.id: r.state for r in case.steps.values()} == {"a": "cancelled", "b": "cancelled"}
    # only the open step's partner was referred, so only it is told
    assert kinds(events) == ["step-cancelled:a", "plan-cancelled"]
    assert next_wake(case) is None and kinds(advance(case, T0 + 2 * S)) == []


def test_goals_met_completes_the_case_and_cancels_what_is_left() -> None:
    case = opened()
    events = closing.close(case, "goals-met", None, T0 + S)
    assert case.state == "completed" and case.reason == "closed: goals-met"
    assert case.steps["b"].state == "cancelled" and case.steps["b"].reason == "closed: goals-met"
    assert kinds(events) == ["step-cancelled:a", "plan-completed"]


def test_a_transfer_names_the_organisation_and_keeps_it_out_of_the_reason() -> None:
    case = opened()
    closing.close(case, "transferred", "  Vilnius   Shelter Network ", T0 + S)
    assert case.state == "cancelled" and case.reason == "closed: transferred"
    assert case.closed_to == "Vilnius Shelter Network"


def test_a_case_awaiting_approval_may_be_closed() -> None:
    case = Case.new(make_plan(step("a")), T0, approval_required=True)
    closing.close(case, "lost-contact", None, T0 + S)
    assert case.state == "cancelled" and case.steps["a"].state == "cancelled"


def test_an_unknown_reason_is_refused_naming_the_valid_ones() -> None:
    with pytest.raises(UnknownCloseReason, match="one of moved-away, lost-contact, transferred"):
        closing.close(opened(), "bored", None, T0)


@pytest.mark.parametrize(
    ("reason", "to", "says"),
    [
        ("transferred", None, "is needed"),
        ("transferred", "   ", "is needed"),
        ("transferred", "x" * 121, "at most 120"),
        ("moved-away", "Somewhere", "only for --reason transferred"),
    ],
)
def test_to_is_for_a_transfer_alone_and_bounded(reason: str, to: str | None, says: str) -> None:
    case = opened()
    with pytest.raises(ClosedToRefused, match=says):
        closing.close(case, reason, to, T0)
    assert case.state == "active"


def test_a_case_already_ended_is_refused_naming_it() -> None:
    case = opened()
    closing.close(case, "deceased", None, T0 + S)
    with pytest.raises(CaseNotInState, match="case BC-T-1 is cancelled: cannot close it"):
        closing.close(case, "moved-away", None, T0 + 2 * S)


def test_other_endings_are_not_closings() -> None:
    assert closing.closing_of("consent withdrawn") is None
    assert closing.closing_of(None) is None


def test_the_report_has_a_code_for_every_close_reason() -> None:
    assert set(CLOSINGS) == set(closing.CLOSE_REASONS)


def test_the_runs_state_message_says_why_it_was_closed() -> None:
    case = opened()
    closing.close(case, "goals-met", None, T0 + S)
    assert state_message(case, supervisor="l-istomova") == "completed: closed: goals-met"
    case = opened()
    closing.close(case, "transferred", "Vilnius Shelter", T0 + S)
    assert state_message(case, supervisor="l-istomova") == "cancelled: closed: transferred"
