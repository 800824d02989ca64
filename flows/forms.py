"""The typed forms a person fills in the Prefect UI: approvals, consent, a check-in's outcome,
an open-ended step's completion.

Each form names who decides (a list of only those who may) and carries the staff member's
one-time code, checked before anything is recorded. Forms carry no free text: whatever a
person writes may name someone, and it would be stored in Prefect. Notes go through the CLI,
sealed in the case store.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from prefect.input import RunInput
from pydantic import AfterValidator, Field, create_model

CODE_FIELD: tuple[Any, Any] = (
    str,
    Field(
        pattern=r"^\s*\d{6}\s*$",
        description="The 6-digit code your authenticator app shows now (`rehab staff enrol`)",
    ),
)


def staff_choice(ids: list[str], description: str) -> tuple[Any, Any]:
    """A field choosing one of `ids`, as a list in the default UI whatever their number.

    A one-value `Literal` becomes a JSON-schema `const`, which the UI shows as a disabled, empty
    box that cannot be submitted; an `enum` is a list, with one entry or many. With nobody
    eligible the field is a plain text box, and the description says so: the form can still be
    sent, and the decision is refused and waits."""

    def eligible(value: str) -> str:
        if value not in ids:
            raise ValueError(
                f"{value!r} may not take this decision; may: "
                f"{', '.join(ids) or 'nobody in the staff directory'}"
            )
        return value

    if not ids:
        description += (
            " (nobody in the staff directory may take this decision: add one, then decide)"
        )
        return Annotated[str, AfterValidator(eligible)], Field(description=description)
    return Annotated[str, AfterValidator(eligible)], Field(
        description=description, json_schema_extra={"enum": list(ids)}
    )


def approval_form(deciders: list[str]) -> type[RunInput]:
    """The supervisor's approval of a plan or of an amendment's new steps."""
    fields: dict[str, Any] = {
        "approved_by": staff_choice(deciders, "Who approves (you)"),
        "code": CODE_FIELD,
    }
    return create_model("PlanApproval", __base__=RunInput, **fields)


def consent_form(deciders: list[str]) -> type[RunInput]:
    """The case manager's record of a consent decision for one scope."""
    fields: dict[str, Any] = {
        "decision": (Literal["given", "refused"], Field(description="What the person decided")),
        "recorded_by": staff_choice(deciders, "Who talked to the person (you)"),
        "code": CODE_FIELD,
    }
    return create_model("ConsentDecision", __base__=RunInput, **fields)


def checkin_form(deciders: list[str]) -> type[RunInput]:
    """The case manager's record of how a due check-in went."""
    fields: dict[str, Any] = {
        "outcome": (
            Literal["attended", "missed", "rescheduled"],
            Field(description="How the check-in went"),
        ),
        "recorded_by": staff_choice(deciders, "Who records it (you)"),
        "code": CODE_FIELD,
    }
    return create_model("CheckInOutcome", __base__=RunInput, **fields)


def completion_form(deciders: list[str]) -> type[RunInput]:
    """The case manager's word that an open-ended step's help has been given."""
    fields: dict[str, Any] = {
        "recorded_by": staff_choice(deciders, "Who marks the step completed (you)"),
        "code": CODE_FIELD,
    }
    return create_model("StepCompletion", __base__=RunInput, **fields)
