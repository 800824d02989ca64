"""What a decision's form shows and who may fill it: the markdown above it (case code, step,
when; never personal data), the list of those who may decide, and the key it waits under.
Built by the engine when it creates a decision run already waiting, and by the decision flow
when a refused submission makes the form wait again."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from prefect.input import RunInput

from casework.domain.access import Power, deciders
from casework.domain.decision_kinds import KINDS, check_in_of
from casework.store import queries
from casework.store.decisions import Decision
from flows.app import App
from flows.prefect.forms import (
    amendment_form,
    approval_form,
    checkin_form,
    completion_form,
    consent_form,
)
from plans.model import DEFAULT_TIMEZONE


def _steps(steps: list[dict[str, Any]]) -> str:
    return "\n".join(f"- `{s['id']}` ({s['domain']}) by `{s['partner']}`" for s in steps)


def _approval(status: dict[str, Any], case: str, scope: str, how: str) -> str:
    return (
        f"## Approve plan {case}\n\nCase manager `{status['manager']}` launched this "
        f"plan (revision {status['revision']}). Its steps:\n\n{_steps(status['steps'])}"
        f"\n\nApprove it, or send it back to the case manager with a comment saying what it "
        f"needs (the comment is kept sealed in the case store, never here). {how}"
    )


def _amendment(status: dict[str, Any], case: str, scope: str, how: str) -> str:
    waiting = [s for s in status["steps"] if s["needs_approval"]]
    return (
        f"## Approve the amendment of plan {case}\n\nCase manager `{status['manager']}` "
        f"amended this plan (revision {status['revision']}). These new steps or partners "
        f"start once approved:\n\n{_steps(waiting)}\n\n{how}"
    )


def _consent(status: dict[str, Any], case: str, scope: str, how: str) -> str:
    waiting = [s for s in status["steps"] if s["state"] == "awaiting-consent"]
    return (
        f"## Consent for `{scope}`: case {case}\n\nThese steps wait for the person's "
        f"consent to **{scope}**:\n\n{_steps(waiting)}\n\nRecord what she or he decided after "
        f"talking in person. A refusal skips these steps; the plan goes on without them. "
        f"{how}"
    )


def _check_in(status: dict[str, Any], case: str, scope: str, how: str) -> str:
    step_id, number = check_in_of(scope)
    step = _step(status, step_id)
    due = step["check_ins"][number - 1]["at"] if len(step["check_ins"]) >= number else None
    return (
        f"## Check-in #{number} of step `{step['id']}`: case {case}\n\n"
        f"{_steps([step])}\n\nDue {_local(due, status)}. Record how it went: attended, "
        f"missed (the supervisor is told of repeated misses) or rescheduled. {how}"
    )


def _completion(status: dict[str, Any], case: str, scope: str, how: str) -> str:
    step = _step(status, scope)
    return (
        f"## Complete step `{scope}`: case {case}\n\n{_steps([step])}\n\nThis step "
        f"stays open until someone marks its help given. Resume to mark it completed; "
        f"its partner is told. {how}"
    )


def _step(status: dict[str, Any], step_id: str) -> dict[str, Any]:
    return next(s for s in status["steps"] if s["id"] == step_id)


def _local(at: str | None, status: dict[str, Any]) -> str:
    """A stored UTC time as the plan's local time, with its zone."""
    if at is None:
        return "now"
    zone = ZoneInfo(status.get("timezone") or DEFAULT_TIMEZONE)
    return datetime.fromisoformat(at).astimezone(zone).strftime(f"%Y-%m-%d %H:%M {zone.key}")


@dataclass(frozen=True)
class KindForm:
    """A kind of decision's form, and the markdown above it: (status, case, scope, how to
    decide) -> text; case codes, staff ids and steps only, never personal data."""

    form: Callable[[], type[RunInput]]
    text: Callable[[dict[str, Any], str, str, str], str]


# One entry per kind of casework/domain/decision_kinds.KINDS (tests/test_decision_kinds.py).
FORMS: dict[str, KindForm] = {
    "approval": KindForm(approval_form, _approval),
    "amendment": KindForm(amendment_form, _amendment),
    "consent": KindForm(consent_form, _consent),
    "check-in": KindForm(checkin_form, _check_in),
    "completion": KindForm(completion_form, _completion),
}


def describe(status: dict[str, Any], case: str, kind: str, scope: str) -> str:
    """The markdown shown above the form: what is being decided, case code only."""
    power = KINDS[kind].power
    who = ", ".join(f"`{s}`" for s in status.get("deciders", {}).get(power, [])) or "nobody yet"
    how = (
        f"Resume to decide: you decide as yourself, signed in at the door. May decide: {who}. "
        "Anyone else is refused, and nothing changes."
    )
    return FORMS[kind].text(status, case, scope, how)


def form_for(kind: str) -> type[RunInput]:
    """The form of a decision of this kind."""
    return FORMS[kind].form()


def pause_key(kind: str, scope: str, attempts: int) -> str:
    """The suspend key of the form's showing after `attempts` refusals: a key that fired
    never waits again, so each refused submission waits under the next one."""
    return f"{kind}-{scope or 'plan'}" + (f"-{attempts}" if attempts else "")


def waiting_form(
    app: App, decision: Decision, status: dict[str, Any] | None = None
) -> tuple[type[RunInput], str]:
    """The form a decision's run waits with now, its description filled in, and its key
    (`status`: the case's, if already read)."""
    case, kind, scope = decision.case, decision.kind, decision.scope
    if status is None:
        status = queries.case_status(app.store, code=case)
    powers: tuple[Power, ...] = ("act", "approve")
    status["deciders"] = {
        power: deciders(
            app.directories, power=power, manager=status["manager"], supervisor=status["supervisor"]
        )
        for power in powers
    }
    form = form_for(kind).with_initial_data(description=describe(status, case, kind, scope))
    return form, pause_key(kind, scope, decision.attempts)
