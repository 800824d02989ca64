"""The tags and state message of a plan's run, computed from the case alone: who it concerns,
what is open, what waits on whom, what needs attention, how it ended."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from casework.domain import transitions
from casework.domain.case import Case
from casework.domain.time_passes import advance
from flows.shown.tags import case_tags, decision_tags, outcome, retag, state_message
from plans.model import Plan
from tests.conftest import T0

H, D = timedelta(hours=1), timedelta(days=1)
SUPERVISOR = "l-istomova"


def make_plan(*steps: dict[str, Any], **extra: Any) -> Plan:
    return Plan.model_validate(
        {"case": "BC-TAG-1", "manager": "n-zdolnik", "steps": list(steps), **extra}
    )


def step(step_id: str, domain: str = "medical", **extra: Any) -> dict[str, Any]:
    return {"id": step_id, "domain": domain, "title": step_id, "partner": "brest-clinic", **extra}


def weekly(count: int | None = 3) -> dict[str, Any]:
    return {"check_ins": {"every": "7d", "count": count, "grace": "1d"}}


def tags(case: Case, at: Any = T0) -> list[str]:
    return case_tags(case, supervisor=SUPERVISOR, now=at)


def message(case: Case) -> str:
    return state_message(case, supervisor=SUPERVISOR)


def test_a_plan_waiting_for_approval_says_so_and_names_who_it_concerns() -> None:
    case = Case.new(
        make_plan(step("check"), step("talk", "psychological"), template="acute-crisis"),
        T0,
        approval_required=True,
    )
    assert set(tags(case)) == {
        "plan",
        "living",
        "manager:n-zdolnik",
        "supervisor:l-istomova",
        "template:acute-crisis",
        "domain:medical",
        "domain:psychological",
        "waiting",
        "waiting:approval",
    }
    assert message(case) == "waiting for approval by the supervisor (l-istomova)"


def test_a_plan_sent_back_waits_on_its_case_managers_amendment_not_on_the_supervisor() -> None:
    case = Case.new(make_plan(step("check")), T0, approval_required=True)
    transitions.send_back(case, SUPERVISOR, T0 + H)
    assert {"waiting", "waiting:amendment"} <= set(tags(case))
    assert "waiting:approval" not in tags(case)
    assert message(case) == "sent back by l-istomova: waiting for its case manager's amendment"
    transitions.amend(case, make_plan(step("check"), step("talk")), T0 + 2 * H, revision=2)
    assert "waiting:approval" in tags(case) and "waiting:amendment" not in tags(case)


def test_a_decision_run_carries_its_kind_and_the_cases_manager_and_supervisor() -> None:
    assert decision_tags("check-in", manager="n-zdolnik", supervisor=SUPERVISOR) == [
        "decision:check-in",
        "manager:n-zdolnik",
        "supervisor:l-istomova",
    ]


def test_an_approved_plan_says_when_its_first_step_is_due() -> None:
    case = Case.new(make_plan(step("check", start="2d")), T0, approval_required=True)
    transitions.approve(case, T0 + H)
    advance(case, T0 + H)
    assert message(case) == "waiting for its first step, due Thu 2026-12-03 09:00 Europe/Minsk"
    assert not {"waiting", "waiting:approval"} & set(tags(case, T0 + H))


def test_consent_waiting_is_a_tag_and_the_message_names_the_scopes() -> None:
    case = Case.new(make_plan(step("check", consent=["medical"])), T0, approval_required=False)
    advance(case, T0)
    assert {"waiting", "waiting:consent"} <= set(tags(case))
    assert "waiting:approval" not in tags(case)
    assert message(case) == "waiting for consent: medical"
    transitions.decide_consent(case, ["medical"], "given", T0 + H)
    advance(case, T0 + H)
    assert not {"waiting", "waiting:consent"} & set(tags(case, T0 + H))


def test_a_missed_check_in_tags_the_plan_until_someone_records_that_she_came() -> None:
    case = Case.new(
        make_plan(step("talk", "psychological", **weekly())), T0, approval_required=False
    )
    advance(case, T0)
    assert message(case) == "open: talk (check-ins every 1w)"
    advance(case, T0 + 8 * D + H)  # the first check-in's grace period is over
    assert {"attention", "missed"} <= set(tags(case, T0 + 8 * D + H))
    assert "check-in missed: talk" in message(case)
    transitions.record_outcome(case, "talk", "attended", "n-zdolnik", T0 + 9 * D)
    assert not {"attention", "missed"} & set(tags(case, T0 + 9 * D))


def test_an_overdue_step_is_tagged_overdue() -> None:
    case = Case.new(make_plan(step("job", "employment", due="3d")), T0, approval_required=False)
    advance(case, T0 + 4 * D)
    assert {"attention", "overdue"} <= set(tags(case, T0 + 4 * D))
    assert "overdue: job" in message(case)


def test_only_open_and_pending_steps_give_their_domain() -> None:
    case = Case.new(
        make_plan(
            step("stay", "housing", duration="2d"), step("job", "employment", after=["stay"])
        ),
        T0,
        approval_required=False,
    )
    advance(case, T0)
    assert {"domain:housing", "domain:employment"} <= set(tags(case))
    advance(case, T0 + 2 * D)
    assert "domain:housing" not in tags(case, T0 + 2 * D)
    assert "domain:employment" in tags(case, T0 + 2 * D)


def test_ending_means_every_step_left_ends_by_time_within_a_week() -> None:
    ends_soon = Case.new(
        make_plan(step("stay", "housing", duration="5d")), T0, approval_required=False
    )
    advance(ends_soon, T0)
    assert "ending" in tags(ends_soon)
    long = Case.new(make_plan(step("stay", "housing", duration="30d")), T0, approval_required=False)
    advance(long, T0)
    assert "ending" not in tags(long)
    assert "ending" in tags(long, T0 + 24 * D)
    open_ended = Case.new(make_plan(step("job", "employment")), T0, approval_required=False)
    advance(open_ended, T0)
    assert "ending" not in tags(open_ended, T0 + 300 * D)


def test_a_plan_whose_check_ins_were_all_missed_does_not_end_as_help_received() -> None:
    case = Case.new(
        make_plan(step("talk", "psychological", **weekly(2))), T0, approval_required=False
    )
    advance(case, T0)
    advance(case, T0 + 30 * D)
    assert case.state == "completed" and outcome(case) == "check-ins-missed"
    assert "ended:check-ins-missed" in tags(case, T0 + 30 * D)
    assert not {"living", "missed", "attention"} & set(tags(case, T0 + 30 * D))
    assert message(case) == "completed with check-ins missed: every check-in of talk"


def test_a_plan_whose_help_was_received_says_so() -> None:
    case = Case.new(
        make_plan(step("talk", "psychological", **weekly(1))), T0, approval_required=False
    )
    advance(case, T0)
    advance(case, T0 + 7 * D)
    transitions.record_outcome(case, "talk", "attended", "n-zdolnik", T0 + 7 * D + H)
    advance(case, T0 + 7 * D + H)
    assert outcome(case) == "help-received"
    assert "ended:help-received" in tags(case)
    assert message(case) == "completed: help received"


def test_a_completed_step_whose_partner_was_never_told_is_not_help_received() -> None:
    case = Case.new(
        make_plan(step("crisis-room", "housing", duration="1d")), T0, approval_required=False
    )
    advance(case, T0)
    case.steps["crisis-room"].referral = "withdrawn"  # held, then its day was over
    advance(case, T0 + D)
    assert case.state == "completed" and outcome(case) == "not-delivered"
    assert "ended:not-delivered" in tags(case, T0 + D)
    assert message(case) == "completed: not delivered, its partner was never told: crisis-room"


def test_a_plan_with_help_received_names_the_steps_that_were_never_delivered() -> None:
    kit, room = step("kit", "humanitarian", duration="1d"), step("room", duration="1d")
    case = Case.new(make_plan(kit, room), T0, approval_required=False)
    advance(case, T0)
    case.steps["kit"].referral, case.steps["room"].referral = "sent", "dead"
    advance(case, T0 + D)
    assert {"ended:help-received", "not-delivered"} <= set(tags(case, T0 + D))
    assert message(case) == (
        "completed: help received; not delivered (its partner was never told): room"
    )


def test_cancelled_and_terminated_plans_say_why() -> None:
    case = Case.new(make_plan(step("a"), rules=["sobriety"]), T0, approval_required=False)
    transitions.breach(case, "sobriety", T0)
    assert (
        "ended:terminated" in tags(case) and message(case) == "terminated: rule sobriety breached"
    )
    other = Case.new(make_plan(step("a")), T0, approval_required=False)
    transitions.withdraw_all(other, T0)
    assert "ended:cancelled" in tags(other) and message(other) == "cancelled: consent withdrawn"


def test_retag_replaces_the_engines_tags_and_keeps_everyone_elses() -> None:
    current = ["rehab", "plan", "living", "overdue", "domain:medical", "manager:a", "vip"]
    assert retag(current, ["plan", "manager:b", "ended:help-received"]) == [
        "rehab",
        "vip",
        "plan",
        "manager:b",
        "ended:help-received",
    ]


def test_no_personal_data_reaches_a_tag_or_a_message() -> None:
    person = {"name": "Olga Secret", "contact": "+375 29 000 00 00", "birth_year": 1990}
    case = Case.new(make_plan(step("a"), person=person), T0, approval_required=True)
    said = " ".join([*tags(case), message(case)])
    for value in ("Olga", "Secret", "+375", "1990"):
        assert value not in said


def test_the_state_message_stays_the_same_from_one_check_in_to_the_next() -> None:
    """A new message is a new state in the run's history: only a change in where the plan
    stands writes one, not each check-in kept on time."""
    case = Case.new(
        make_plan(step("talk", "psychological", **weekly(count=None))), T0, approval_required=False
    )
    advance(case, T0)
    said = {message(case)}
    for week in range(1, 4):
        at = T0 + week * 7 * D + H
        advance(case, at)
        transitions.record_outcome(case, "talk", "attended", "n-zdolnik", at)
        said.add(message(case))
    assert said == {"open: talk (check-ins every 1w)"}
