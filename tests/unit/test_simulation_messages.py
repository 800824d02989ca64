"""`rehab plan simulate` shows when each message really goes: an urgent referral at once, even
inside quiet hours; a reminder that quiet hours would hold past its check-in, before they
begin. The same rules as the outbox, on a paper clock."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from casework.domain.simulation import Simulation, Told, simulate
from flows.shown.render import simulation_text
from plans.directories import Directories
from plans.model import Plan
from tests.conftest import T0

MINSK_START = "2026-12-01T07:23"  # inside brest-crisis-room's quiet hours (22:00-08:00)


def crisis_plan(**extra: Any) -> Plan:
    room = {
        "id": "crisis-room",
        "domain": "housing",
        "title": "A night in the crisis room",
        "partner": "brest-crisis-room",
        "duration": "1d",
        **extra,
    }
    return Plan.model_validate(
        {"case": "BC-SIM-1", "manager": "n-zdolnik", "start": MINSK_START, "steps": [room]}
    )


def told(sim: Simulation, kind: str) -> list[tuple[datetime, Told]]:
    return [(e.at, t) for e in sim.entries for t in e.told if t.kind == kind]


def test_an_urgent_referral_is_shown_going_at_once_inside_quiet_hours(
    directories: Directories,
) -> None:
    sim = simulate(crisis_plan(urgent=True), directories, launch_at=T0, approval_required=False)
    [(at, referral)] = told(sim, "referral")
    assert referral.arrives == at and not referral.held
    plain = simulate(crisis_plan(), directories, launch_at=T0, approval_required=False)
    [(_, held)] = told(plain, "referral")
    assert held.held and f"{held.arrives.astimezone(plain.plan.tz):%H:%M}" == "08:00"


def test_a_reminder_quiet_hours_would_hold_past_its_check_in_is_shown_before_they_begin(
    directories: Directories,
) -> None:
    talk = {
        "id": "talk",
        "domain": "psychological",
        "title": "Sessions",
        "partner": "brest-psychologist",  # quiet 21:00-09:00
        "check_ins": {"every": "1d", "first": "23h", "count": 1, "remind": ["2h"]},
    }
    plan = Plan.model_validate(
        {"case": "BC-SIM-2", "manager": "n-zdolnik", "start": "2026-12-01T10:00", "steps": [talk]}
    )
    sim = simulate(plan, directories, launch_at=T0, approval_required=False)
    [(at, reminder)] = told(sim, "reminder")
    # The check-in is at 09:00 on the 2nd; 07:00 would wait until 09:00: it goes at 20:50.
    assert f"{at.astimezone(plan.tz):%Y-%m-%d %H:%M}" == "2026-12-01 20:50"
    assert reminder.arrives == at and reminder.early and not reminder.held
    assert "sent before quiet hours, which last past the check-in" in simulation_text(sim)


def test_a_reminder_quiet_hours_would_move_before_its_step_began_is_not_shown(
    directories: Directories,
) -> None:
    """Launched at 20:30 in Minsk, inside the clinic's quiet hours (20:00-08:00): the first
    check-in's reminder would go before the step began, so it does not go at all, and the
    others still line up with their own check-ins."""
    plan = Plan.model_validate(
        {
            "case": "BC-SIM-2",
            "manager": "n-zdolnik",
            "timezone": "Europe/Minsk",
            "steps": [
                {
                    "id": "medical-check",
                    "domain": "medical",
                    "title": "Medical check-up",
                    "partner": "brest-clinic",
                    "check_ins": {"every": "30s", "count": 3, "remind": ["10s"], "grace": "15s"},
                }
            ],
        }
    )
    launch_at = datetime.fromisoformat("2026-12-03T17:30:00+00:00")
    sim = simulate(plan, directories, launch_at=launch_at, approval_required=False)
    started = next(e.at for e in sim.entries if e.what == "step starts")
    reminders = [e for e in sim.entries if e.what.startswith("reminder")]
    assert all(e.at >= started for e in reminders)
    assert len({e.what for e in reminders}) == len(reminders), "each check-in's own reminder"
