"""The typed forms a person fills in the Prefect UI (or the CLI sends) to take a decision.

The staff ids are an enumeration, so the UI offers a list and the server refuses anyone else.
Forms carry no free text: whatever a person writes may name someone, and it would be stored in
Prefect. Notes go through the CLI, sealed in the case store.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from prefect.input import RunInput
from pydantic import AfterValidator, Field, create_model

from plans.directories import Directories


def staff_choice(ids: list[str], description: str) -> tuple[Any, Any]:
    """A field choosing one of `ids`, as a list in the default UI whatever their number.

    A one-value `Literal` becomes a JSON-schema `const`, which the UI shows as a disabled empty
    box that cannot be submitted; an `enum` is a list, with one entry or many. With nobody
    eligible the field is a plain text box, and the description says so: the form can still
    be sent, and the decision is refused and waits."""

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


def approval_form(directories: Directories) -> type[RunInput]:
    """The supervisor's approval of a plan."""
    supervisors = directories.staff.with_role("supervisor")
    fields: dict[str, Any] = {
        "approved_by": staff_choice(supervisors, "The approving supervisor"),
    }
    return create_model("PlanApproval", __base__=RunInput, **fields)


def consent_form(directories: Directories) -> type[RunInput]:
    """The case manager's record of a consent decision for one scope."""
    fields: dict[str, Any] = {
        "decision": (Literal["given", "refused"], Field(description="What the person decided")),
        "recorded_by": staff_choice(list(directories.staff.staff), "Who talked to the person"),
    }
    return create_model("ConsentDecision", __base__=RunInput, **fields)


def form_input(kind: str, decision: str | None, by: str | None) -> dict[str, Any]:
    """The input that tells a decision run what was decided elsewhere (e.g. in the CLI)."""
    if kind == "approval":
        return {"approved_by": by}
    return {"decision": decision, "recorded_by": by}
