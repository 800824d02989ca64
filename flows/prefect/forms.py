"""The typed forms a person fills in the Prefect UI, through the door: approvals, consent, a
check-in's outcome, an open-ended step's completion.

A form asks what is decided, never who decides or a code: the person signed in at the door is
who decides (security.md rule 2), and the door records the decision in the case store itself,
so nothing she sends is stored in Prefect. Forms carry no free text but the approval's
comment, which the door seals in the case store (a plan sent back says why there).

The forms' field names and values are what the door records, so they are the same in every
language; each form is built once per language (en, ru, be) with its fields' titles and
descriptions in that language, the descriptions saying what each English value means.
"""

from __future__ import annotations

from functools import cache
from typing import Any, Literal

from prefect.input import RunInput
from pydantic import Field, create_model

from notifications.render import form_phrase


@cache
def approval_form(language: str = "en") -> type[RunInput]:
    """The supervisor's decision on a plan awaiting approval: approve it, or send it back to
    its case manager saying why (she is who she signed in as)."""
    fields: dict[str, Any] = {
        "decision": (
            Literal["approve", "send-back"],
            Field(
                default="approve",
                title=form_phrase(language, "title-decision"),
                description=form_phrase(language, "approval-decision"),
            ),
        ),
        "comment": (
            str,
            Field(
                default="",
                title=form_phrase(language, "title-comment"),
                description=form_phrase(language, "approval-comment"),
            ),
        ),
    }
    return create_model("PlanApproval", __base__=RunInput, **fields)


@cache
def amendment_form(language: str = "en") -> type[RunInput]:
    """The supervisor's approval of an amendment's new steps: resuming it is the approval."""
    return create_model("AmendmentApproval", __base__=RunInput)


@cache
def consent_form(language: str = "en") -> type[RunInput]:
    """The case manager's record of a consent decision for one scope."""
    fields: dict[str, Any] = {
        "decision": (
            Literal["given", "refused"],
            Field(
                title=form_phrase(language, "title-decision"),
                description=form_phrase(language, "consent-decision"),
            ),
        ),
    }
    return create_model("ConsentDecision", __base__=RunInput, **fields)


@cache
def checkin_form(language: str = "en") -> type[RunInput]:
    """The case manager's record of how a due check-in went."""
    fields: dict[str, Any] = {
        "outcome": (
            Literal["attended", "missed", "rescheduled"],
            Field(
                title=form_phrase(language, "title-outcome"),
                description=form_phrase(language, "check-in-outcome"),
            ),
        ),
    }
    return create_model("CheckInOutcome", __base__=RunInput, **fields)


@cache
def completion_form(language: str = "en") -> type[RunInput]:
    """The case manager's word that an open-ended step's help has been given."""
    return create_model("StepCompletion", __base__=RunInput)
