"""The kinds of decision that wait on a person, as one table: for each, who may take it, when a
case needs it, the scope that tells its decisions apart, and what its form asks.

The other sides of a kind are keyed by the same name: its form and the text above it
(`flows/prefect/decision_forms.FORMS`) and the service that records it
(`casework/services/decide.RECORDERS`). Adding a kind is one entry in each; see
docs/architecture.md, "Decisions".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import get_args

from casework.domain.access import Power
from casework.domain.case import Case, RecordedOutcome


@dataclass(frozen=True)
class Choice:
    """The one thing a form asks: a field and the values it may take (never free text)."""

    field: str
    values: tuple[str, ...]
    default: str | None = None  # what a form sent without the field means


@dataclass(frozen=True)
class DecisionKind:
    """One kind of decision: its name (the store's `decisions.kind`, the run's
    `decision:<kind>` tag), who may take it, which of them a case waits on now."""

    name: str
    power: Power  # "approve": the case's supervisor or a director; "act": its manager too
    # The scopes of this kind the case waits on now; the int is the case's plan revision.
    needed: Callable[[Case, int], Iterable[str]]
    scope_format: str  # what a scope looks like, for the docs and the tests
    choice: Choice | None = None  # None: resuming the form is the decision
    shown: Callable[[str], str] = str  # the scope as the run's name shows it


def approval_scope(revision: int) -> str:
    """The scope of the decision on a plan awaiting approval at plan revision `revision`: ""
    for the plan as launched, `rev-<n>` once amended (each a form of its own, so a plan sent
    back and amended is asked about anew)."""
    return "" if revision <= 1 else f"rev-{revision}"


def amendment_scope(revision: int) -> str:
    """The scope of the decision on the amendments up to plan revision `revision`."""
    return f"rev-{revision}"


def check_in_scope(step: str, seq: int) -> str:
    """The scope of the decision on a step's check-in number `seq` (from 0): `psych-3`
    (Prefect's form keys take letters, digits and dashes only)."""
    return f"{step}-{seq + 1}"


def check_in_of(scope: str) -> tuple[str, int]:
    """The step and the check-in's number (from 1) a check-in decision's scope names."""
    step, number = scope.rsplit("-", 1)
    return step, int(number)


def _approval(case: Case, revision: int) -> list[str]:
    # A plan sent back waits on its case manager's amendment, not on a form.
    waiting = case.state == "awaiting-approval" and case.sent_back_at is None
    return [approval_scope(revision)] if waiting else []


def _amendment(case: Case, revision: int) -> list[str]:
    active = case.state == "active" and case.awaiting_amendment_approval
    return [amendment_scope(revision)] if active else []


def _consent(case: Case, revision: int) -> list[str]:
    return case.waiting_consent if case.state == "active" else []


def _open_steps(case: Case) -> list[tuple[str, bool]]:
    """The open steps of an active case and whether each is open-ended."""
    if case.state != "active":
        return []
    plan_steps = {s.id: s for s in case.plan.steps}
    return [
        (run.id, plan_steps[run.id].open_ended)
        for run in case.steps.values()
        if run.state == "open" and run.id in plan_steps
    ]


def _check_in(case: Case, revision: int) -> list[str]:
    """The check-ins due and not yet recorded."""
    return [
        check_in_scope(step, c.seq)
        for step, _ in _open_steps(case)
        for c in case.steps[step].check_ins
        if c.outcome == "pending"
    ]


def _completion(case: Case, revision: int) -> list[str]:
    """The open steps only a person can complete (open-ended ones)."""
    return [step for step, open_ended in _open_steps(case) if open_ended]


def _check_in_shown(scope: str) -> str:
    step, number = check_in_of(scope)
    return f"{step} #{number}"


KINDS: dict[str, DecisionKind] = {
    k.name: k
    for k in (
        DecisionKind(
            "approval",
            "approve",
            _approval,
            scope_format='"" (as launched) or rev-<revision>',
            choice=Choice("decision", ("approve", "send-back"), default="approve"),
        ),
        DecisionKind("amendment", "approve", _amendment, scope_format="rev-<revision>"),
        DecisionKind(
            "consent",
            "act",
            _consent,
            scope_format="<consent scope>",
            choice=Choice("decision", ("given", "refused")),
        ),
        DecisionKind(
            "check-in",
            "act",
            _check_in,
            scope_format="<step>-<number from 1>",
            choice=Choice("outcome", get_args(RecordedOutcome)),
            shown=_check_in_shown,
        ),
        DecisionKind("completion", "act", _completion, scope_format="<step>"),
    )
}


def needed(case: Case, revision: int) -> set[tuple[str, str]]:
    """Every (kind, scope) the case waits on a person for now: each is a form in the UI."""
    return {(k.name, scope) for k in KINDS.values() for scope in k.needed(case, revision)}
