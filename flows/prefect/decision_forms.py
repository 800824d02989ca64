"""What a decision's form shows and who may fill it: the markdown above it (case code, step,
when; never personal data), the list of those who may decide, and the key it waits under.
Its words are in the language of the person it waits on (texts: the catalog's `decision-form`
in notifications/catalog/).
Built by the engine when it creates a decision run already waiting, and by the decision flow
when a refused submission makes the form wait again."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from prefect.input import RunInput

from casework.domain.access import Power, deciders, supervisor_now
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
from notifications.render import form_phrase
from notifications.words import domain_word
from plans.directories import Directories
from plans.model import DEFAULT_TIMEZONE


def _steps(steps: list[dict[str, Any]], language: str) -> str:
    def line(step: dict[str, Any]) -> str:
        domain = domain_word(step["domain"], language)
        return form_phrase(language, "step", id=step["id"], domain=domain, partner=step["partner"])

    return "\n".join(line(s) for s in steps)


def _approval(status: dict[str, Any], case: str, scope: str, how: str, language: str) -> str:
    return form_phrase(
        language,
        "approval",
        case=case,
        manager=status["manager"],
        revision=status["revision"],
        steps=_steps(status["steps"], language),
        how=how,
    )


def _amendment(status: dict[str, Any], case: str, scope: str, how: str, language: str) -> str:
    waiting = [s for s in status["steps"] if s["needs_approval"]]
    return form_phrase(
        language,
        "amendment",
        case=case,
        manager=status["manager"],
        revision=status["revision"],
        steps=_steps(waiting, language),
        how=how,
    )


def _consent(status: dict[str, Any], case: str, scope: str, how: str, language: str) -> str:
    waiting = [s for s in status["steps"] if s["state"] == "awaiting-consent"]
    return form_phrase(
        language,
        "consent",
        case=case,
        scope=scope,
        scope_word=domain_word(scope, language),
        steps=_steps(waiting, language),
        how=how,
    )


def _check_in(status: dict[str, Any], case: str, scope: str, how: str, language: str) -> str:
    step_id, number = check_in_of(scope)
    step = _step(status, step_id)
    due = step["check_ins"][number - 1]["at"] if len(step["check_ins"]) >= number else None
    return form_phrase(
        language,
        "check-in",
        case=case,
        number=number,
        step=step["id"],
        steps=_steps([step], language),
        due=_local(due, status, language),
        how=how,
    )


def _completion(status: dict[str, Any], case: str, scope: str, how: str, language: str) -> str:
    step = _step(status, scope)
    return form_phrase(
        language, "completion", case=case, step=scope, steps=_steps([step], language), how=how
    )


def _step(status: dict[str, Any], step_id: str) -> dict[str, Any]:
    return next(s for s in status["steps"] if s["id"] == step_id)


def _local(at: str | None, status: dict[str, Any], language: str) -> str:
    """A stored UTC time as the plan's local time, with its zone."""
    if at is None:
        return form_phrase(language, "now")
    zone = ZoneInfo(status.get("timezone") or DEFAULT_TIMEZONE)
    return datetime.fromisoformat(at).astimezone(zone).strftime(f"%Y-%m-%d %H:%M {zone.key}")


@dataclass(frozen=True)
class KindForm:
    """A kind of decision's form in a language, and the markdown above it: (status, case,
    scope, how to decide, language) -> text; case codes, staff ids and steps only, never
    personal data."""

    form: Callable[[str], type[RunInput]]
    text: Callable[[dict[str, Any], str, str, str, str], str]


# One entry per kind of casework/domain/decision_kinds.KINDS (tests/test_decision_kinds.py).
FORMS: dict[str, KindForm] = {
    "approval": KindForm(approval_form, _approval),
    "amendment": KindForm(amendment_form, _amendment),
    "consent": KindForm(consent_form, _consent),
    "check-in": KindForm(checkin_form, _check_in),
    "completion": KindForm(completion_form, _completion),
}


def describe(status: dict[str, Any], case: str, kind: str, scope: str, language: str = "en") -> str:
    """The markdown shown above the form, in `language`: what is being decided, case code only."""
    power = KINDS[kind].power
    named = ", ".join(f"`{s}`" for s in status.get("deciders", {}).get(power, []))
    how = form_phrase(language, "how", who=named or form_phrase(language, "nobody"))
    return FORMS[kind].text(status, case, scope, how, language)


def form_for(kind: str, language: str = "en") -> type[RunInput]:
    """The form of a decision of this kind, its fields' words in `language`."""
    return FORMS[kind].form(language)


def language_of(directories: Directories, kind: str, status: dict[str, Any]) -> str:
    """The language of the person the decision waits on: the case's manager for a kind that
    acts, its supervisor as the directory gives it now for one that approves; English when
    there is none (directors alone decide) or she is no longer in the directory."""
    if KINDS[kind].power == "act":
        person = status["manager"]
    else:
        person = supervisor_now(directories, status["supervisor"])
    member = directories.staff.staff.get(person) if person else None
    return member.language if member else "en"


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
    # The engine's opening and the decision flow's wait after a refusal both come here, so a
    # form shows again in the language it first had (unless the directory changed since).
    language = language_of(app.directories, kind, status)
    text = describe(status, case, kind, scope, language)
    form = form_for(kind, language).with_initial_data(description=text)
    return form, pause_key(kind, scope, decision.attempts)
