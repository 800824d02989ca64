"""State transitions of a case, without a database or Prefect."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from casework.domain import transitions
from casework.domain.case import Case, next_wake
from casework.domain.errors import ConsentNotGiven, TransitionRefused
from casework.domain.events import AmendmentApproved, AmendmentToApprove
from casework.domain.step_events import CheckInMissed, ConsentNeeded, StepOverdue
from casework.domain.time_passes import advance
from plans.model import Plan
from tests.conftest import T0

S = timedelta(seconds=1)


def make_plan(*steps: dict[str, Any], rules: list[str] | None = None) -> Plan:
    return Plan.model_validate(
        {
            "case": "BC-T-1",
            "manager": "n-zdolnik",
            "rules": rules or [],
            "start": "2026-12-01T09:00",
            "steps": list(steps),
        }
    )


def step(step_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": step_id,
        "domain": "medical",
        "title": step_id,
        "partner": "brest-clinic",
        **extra,
    }


def active(plan: Plan) -> Case:
    return Case.new(plan, T0, approval_required=False)


def kinds(events: list[Any]) -> list[str]:
    return [f"{e.kind}:{e.step}" if e.step else e.kind for e in events]


def test_a_plan_waits_for_approval_before_anything_starts() -> None:
    case = Case.new(make_plan(step("a")), T0, approval_required=True)
    assert advance(case, T0 + 10 * S) == [] and next_wake(case) is None
    transitions.approve(case, T0 + 20 * S)
    assert kinds(advance(case, T0 + 20 * S)) == ["step-started:a"]
    assert case.steps["a"].started_at == T0 + 20 * S


def test_a_step_starts_at_its_offset_and_completes_when_its_duration_ends() -> None:
    case = active(make_plan(step("a", start="10s", duration="30s")))
    assert advance(case, T0) == [] and next_wake(case) == T0 + 10 * S
    assert kinds(advance(case, T0 + 11 * S)) == ["step-started:a"]
    assert next_wake(case) == T0 + 40 * S
    assert kinds(advance(case, T0 + 40 * S)) == ["step-completed:a", "plan-completed"]
    assert case.state == "completed" and case.steps["a"].ended_at == T0 + 40 * S


def test_advance_is_idempotent() -> None:
    case = active(make_plan(step("a", duration="30s")))
    advance(case, T0)
    assert advance(case, T0) == []


def test_a_dependent_step_starts_the_moment_its_prerequisite_completes() -> None:
    case = active(make_plan(step("b", after=["a"]), step("a", duration="30s")))
    assert kinds(advance(case, T0)) == ["step-started:a"]
    assert kinds(advance(case, T0 + 30 * S)) == ["step-completed:a", "step-started:b"]
    assert case.steps["b"].started_at == T0 + 30 * S


def test_a_step_waits_for_consent_and_starts_when_it_is_given() -> None:
    case = active(make_plan(step("a", consent=["medical"])))
    events = advance(case, T0)
    assert events == [ConsentNeeded(T0, "a", ("medical",))]
    assert case.waiting_consent == ["medical"] and next_wake(case) is None
    transitions.decide_consent(case, ["medical"], "given", T0 + 5 * S)
    assert kinds(advance(case, T0 + 5 * S)) == ["step-started:a"]


def test_refused_consent_skips_the_step_and_its_dependents_but_not_the_rest() -> None:
    case = active(
        make_plan(step("a", consent=["medical"]), step("b", after=["a"]), step("c", duration="10s"))
    )
    advance(case, T0)
    transitions.decide_consent(case, ["medical"], "refused", T0 + S)
    advance(case, T0 + S)
    assert case.steps["a"].state == "skipped" and case.steps["b"].state == "skipped"
    assert case.steps["c"].state == "open"
    advance(case, T0 + 10 * S)
    assert case.state == "completed"


def test_check_ins_fall_due_and_are_missed_after_the_grace_period() -> None:
    case = active(make_plan(step("a", check_ins={"every": "10s", "count": 2, "grace": "5s"})))
    advance(case, T0)
    assert next_wake(case) == T0 + 10 * S
    assert kinds(advance(case, T0 + 10 * S)) == ["check-in-due:a"]
    assert next_wake(case) == T0 + 15 * S
    missed = advance(case, T0 + 15 * S)
    assert kinds(missed) == ["check-in-missed:a"] and missed[0].streak == 1
    assert kinds(advance(case, T0 + 20 * S)) == ["check-in-due:a", "check-in-not-followed-up:a"]
    transitions.record_outcome(case, "a", "attended", "n-zdolnik", T0 + 21 * S)
    assert kinds(advance(case, T0 + 21 * S)) == ["step-completed:a", "plan-completed"]
    assert [c.outcome for c in case.steps["a"].check_ins] == ["missed", "attended"]


def test_a_step_whose_last_check_in_is_missed_completes_and_lets_the_next_start() -> None:
    case = active(
        make_plan(
            step("a", check_ins={"every": "10s", "count": 1, "grace": "5s"}), step("b", after=["a"])
        )
    )
    advance(case, T0)
    advance(case, T0 + 10 * S)
    events = advance(case, T0 + 15 * S)
    assert kinds(events) == ["check-in-missed:a", "step-completed:a", "step-started:b"]


def test_a_late_outcome_corrects_a_check_in_the_clock_marked_missed() -> None:
    case = active(make_plan(step("a", check_ins={"every": "10s", "grace": "5s"})))
    advance(case, T0)
    advance(case, T0 + 16 * S)
    ci, _ = transitions.record_outcome(case, "a", "attended", "n-zdolnik", T0 + 17 * S)
    assert ci.seq == 0 and ci.outcome == "attended"


def test_recording_an_outcome_before_any_check_in_is_due_is_refused() -> None:
    case = active(make_plan(step("a", check_ins={"every": "10s"})))
    advance(case, T0)
    with pytest.raises(TransitionRefused, match="none is due yet"):
        transitions.record_outcome(case, "a", "attended", "n-zdolnik", T0 + S)


def test_a_miss_nobody_follows_up_within_another_grace_period_is_escalated_once() -> None:
    case = active(make_plan(step("a", check_ins={"every": "1h", "count": 2, "grace": "5s"})))
    advance(case, T0)
    advance(case, T0 + 3600 * S)
    assert kinds(advance(case, T0 + 3605 * S)) == ["check-in-missed:a"]
    assert next_wake(case) == T0 + 3610 * S
    assert kinds(advance(case, T0 + 3610 * S)) == ["check-in-not-followed-up:a"]
    assert advance(case, T0 + 3620 * S) == []


def test_a_miss_followed_up_in_time_is_not_escalated() -> None:
    case = active(make_plan(step("a", check_ins={"every": "1h", "count": 2, "grace": "5s"})))
    advance(case, T0)
    advance(case, T0 + 3605 * S)
    transitions.record_outcome(case, "a", "rescheduled", "n-zdolnik", T0 + 3607 * S)
    assert advance(case, T0 + 3610 * S) == []


def test_repeated_misses_are_counted_as_a_streak() -> None:
    case = active(make_plan(step("a", check_ins={"every": "10s", "grace": "1s"})))
    advance(case, T0)
    advance(case, T0 + 11 * S)
    streaks = [e.streak for e in advance(case, T0 + 21 * S) if isinstance(e, CheckInMissed)]
    assert streaks == [2]


def test_an_overdue_step_is_flagged_then_escalated() -> None:
    plan = make_plan(step("a", due="10s")).model_copy(update={"escalate_after": 20 * S})
    case = active(plan)
    advance(case, T0)
    assert next_wake(case) == T0 + 10 * S
    assert advance(case, T0 + 10 * S) == [StepOverdue(T0 + 10 * S, "a", 1)]
    assert next_wake(case) == T0 + 30 * S
    assert advance(case, T0 + 30 * S) == [StepOverdue(T0 + 30 * S, "a", 2)]
    assert next_wake(case) is None


def test_withdrawing_all_consent_cancels_open_steps_and_the_case() -> None:
    case = active(make_plan(step("a", consent=["medical"]), step("b"), step("c", start="1h")))
    advance(case, T0)
    transitions.decide_consent(case, ["medical"], "given", T0)
    advance(case, T0)
    events = transitions.withdraw_all(case, T0 + S)
    assert case.state == "cancelled"
    assert {r.id: r.state for r in case.steps.values()} == {
        "a": "cancelled",
        "b": "cancelled",
        "c": "cancelled",
    }
    # only the partners who were referred (a and b were open) are told
    assert kinds([e for e in events if e.kind == "step-cancelled"]) == [
        "step-cancelled:a",
        "step-cancelled:b",
    ]
    assert kinds(advance(case, T0 + 2 * S)) == []


def test_a_rule_breach_terminates_the_case() -> None:
    case = active(make_plan(step("a"), rules=["sobriety"]))
    advance(case, T0)
    with pytest.raises(TransitionRefused, match="no rule 'curfew'"):
        transitions.breach(case, "curfew", T0)
    transitions.breach(case, "sobriety", T0 + S)
    assert case.state == "terminated" and case.steps["a"].state == "cancelled"


def test_an_amendment_changes_only_what_has_not_happened() -> None:
    case = active(make_plan(step("a", duration="10s"), step("b"), step("c", start="1h")))
    advance(case, T0 + 10 * S)
    amended = make_plan(step("a", duration="99s"), step("b", due="1h"), step("d", after=["b"]))
    events = transitions.amend(case, amended, T0 + 11 * S, revision=2)
    assert case.steps["a"].ended_at == T0 + 10 * S, "history is not rewritten"
    assert case.steps["c"].state == "cancelled" and case.steps["d"].state == "pending"
    assert "step-rescheduled:b" in kinds(events) and "step-added:d" in kinds(events)
    assert AmendmentToApprove(T0 + 11 * S, 2, ("d",)) in events
    transitions.complete_step(case, "b", T0 + 12 * S)
    assert advance(case, T0 + 12 * S) == [], "a new step waits for the supervisor"
    assert transitions.approve_amendment(case, T0 + 13 * S) == [
        AmendmentApproved(T0 + 13 * S, ("d",))
    ]
    assert kinds(advance(case, T0 + 13 * S)) == ["step-started:d"]


def test_an_amendment_cannot_bring_back_a_refused_scope_under_a_new_step_id() -> None:
    case = active(make_plan(step("a", consent=["medical"]), step("b")))
    advance(case, T0)
    transitions.decide_consent(case, ["medical"], "refused", T0 + S)
    advance(case, T0 + S)
    assert case.steps["a"].state == "skipped"
    again = make_plan(step("a", consent=["medical"]), step("b"), step("a2", consent=["medical"]))
    with pytest.raises(
        ConsentNotGiven, match="needs consent to 'medical', which the person refused"
    ) as refused:
        transitions.amend(case, again, T0 + 2 * S, revision=2)
    assert (refused.value.step, refused.value.scope) == ("a2", "medical")
    assert "a2" not in case.steps, "nothing was changed"
    changed = make_plan(step("a", consent=["medical"], title="Renamed"), step("b"))
    with pytest.raises(ConsentNotGiven):
        transitions.amend(case, changed, T0 + 2 * S, revision=2)
    transitions.decide_consent(case, ["medical"], "given", T0 + 3 * S)  # given anew
    transitions.amend(case, again, T0 + 4 * S, revision=2)
    assert case.steps["a2"].needs_approval


def test_completing_a_step_that_is_not_open_is_refused() -> None:
    case = active(make_plan(step("a", start="1h")))
    with pytest.raises(TransitionRefused, match="pending, not open"):
        transitions.complete_step(case, "a", T0)
    with pytest.raises(TransitionRefused, match="no step 'zz'"):
        transitions.complete_step(case, "zz", T0)


def test_consent_for_a_scope_the_plan_does_not_have_is_refused() -> None:
    case = active(make_plan(step("a", consent=["medical"])))
    with pytest.raises(TransitionRefused, match="no consent scope 'legal'"):
        transitions.decide_consent(case, ["legal"], "given", T0)


def test_a_step_started_late_keeps_its_check_in_schedule() -> None:
    case = active(make_plan(step("a", start="10s", check_ins={"every": "10s", "grace": "1h"})))
    events = advance(case, T0 + 35 * S)  # the engine was down for a while
    assert case.steps["a"].started_at == T0 + 10 * S
    assert [c.at for c in case.steps["a"].check_ins] == [T0 + 20 * S, T0 + 30 * S]
    assert kinds(events).count("check-in-due:a") == 2


def test_times_are_utc_aware() -> None:
    case = active(make_plan(step("a")))
    advance(case, T0)
    started = case.steps["a"].started_at
    assert isinstance(started, datetime) and started.utcoffset() == timedelta(0)


def test_events_say_what_happened_in_ids_and_numbers_for_logs_and_audit_rows() -> None:
    case = active(make_plan(step("a", check_ins={"every": "10s", "grace": "1s"})))
    advance(case, T0)
    advance(case, T0 + 10 * S)
    [missed] = [e for e in advance(case, T0 + 11 * S) if isinstance(e, CheckInMissed)]
    assert missed.facts() == {"step": "a", "occurrence": 0, "streak": 1}
    assert missed.line() == "check-in-missed a (streak=1)"
    assert ConsentNeeded(T0, "a", ("medical", "legal")).line() == "consent-needed a (medical,legal)"


def test_dropping_a_refused_scope_from_a_step_does_not_route_around_the_refusal() -> None:
    case = active(make_plan(step("exam", consent=["medical"], start="1h"), step("b")))
    advance(case, T0)
    transitions.decide_consent(case, ["medical"], "refused", T0 + S)
    assert case.steps["exam"].state == "pending"
    without = make_plan(step("exam", start="1h"), step("b"))  # the same step, asking for less
    with pytest.raises(ConsentNotGiven) as refused:
        transitions.amend(case, without, T0 + 2 * S, revision=2)
    assert (refused.value.step, refused.value.scope) == ("exam", "medical")
