"""The typed forms a person fills in the Prefect UI, through the door: approvals, consent, a
check-in's outcome, an open-ended step's completion.

A form asks what is decided, never who decides or a code: the person signed in at the door is
who decides (security.md rule 2), and the door records the decision in the case store itself,
so nothing she sends is stored in Prefect. Forms carry no free text but the approval's
comment, which the door seals in the case store (a plan sent back says why there).
"""

from __future__ import annotations

from typing import Any, Literal

from prefect.input import RunInput
from pydantic import Field, create_model


def approval_form() -> type[RunInput]:
    """The supervisor's decision on a plan awaiting approval: approve it, or send it back to
    its case manager saying why (she is who she signed in as)."""
    fields: dict[str, Any] = {
        "decision": (
            Literal["approve", "send-back"],
            Field(default="approve", description="Approve the plan, or send it back"),
        ),
        "comment": (
            str,
            Field(
                default="",
                description="If sent back: what the plan needs (kept sealed in the case store, "
                "shown on the case page; required to send it back)",
            ),
        ),
    }
    return create_model("PlanApproval", __base__=RunInput, **fields)


def amendment_form() -> type[RunInput]:
    """The supervisor's approval of an amendment's new steps: resuming it is the approval."""
    return create_model("AmendmentApproval", __base__=RunInput)


def consent_form() -> type[RunInput]:
    """The case manager's record of a consent decision for one scope."""
    fields: dict[str, Any] = {
        "decision": (Literal["given", "refused"], Field(description="What the person decided")),
    }
    return create_model("ConsentDecision", __base__=RunInput, **fields)


def checkin_form() -> type[RunInput]:
    """The case manager's record of how a due check-in went."""
    fields: dict[str, Any] = {
        "outcome": (
            Literal["attended", "missed", "rescheduled"],
            Field(description="How the check-in went"),
        ),
    }
    return create_model("CheckInOutcome", __base__=RunInput, **fields)


def completion_form() -> type[RunInput]:
    """The case manager's word that an open-ended step's help has been given."""
    return create_model("StepCompletion", __base__=RunInput)
