"""The typed forms a person fills in the Prefect UI (or the CLI sends) to take a decision.

The staff ids are an enumeration, so the UI offers a list and the server refuses anyone else.
Forms carry no free text: whatever a person writes may name someone, and it would be stored in
Prefect. Notes go through the CLI, sealed in the case store.
"""

from __future__ import annotations

from typing import Any, Literal

from prefect.input import RunInput
from pydantic import Field, create_model

from plans.directories import Directories


def approval_form(directories: Directories) -> type[RunInput]:
    """The supervisor's approval of a plan."""
    supervisors = tuple(directories.staff.with_role("supervisor"))
    fields: dict[str, Any] = {
        "approved_by": (Literal[supervisors], Field(description="The approving supervisor")),
    }
    return create_model("PlanApproval", __base__=RunInput, **fields)


def consent_form(directories: Directories) -> type[RunInput]:
    """The case manager's record of a consent decision for one scope."""
    staff = tuple(directories.staff.staff)
    fields: dict[str, Any] = {
        "decision": (Literal["given", "refused"], Field(description="What the person decided")),
        "recorded_by": (Literal[staff], Field(description="Who talked to the person")),
    }
    return create_model("ConsentDecision", __base__=RunInput, **fields)


def form_input(kind: str, decision: str | None, by: str | None) -> dict[str, Any]:
    """The input that tells a decision run what was decided elsewhere (e.g. in the CLI)."""
    if kind == "approval":
        return {"approved_by": by}
    return {"decision": decision, "recorded_by": by}
