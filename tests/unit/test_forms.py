"""The decision forms as the default Prefect UI shows them: they ask what is decided, never who
decides or a code (the signed-in person decides, security.md rule 2), carry no free text but
the approval's comment (which the door seals in the store, never Prefect), and are submittable
as the UI fills them; the text above them says who may decide."""

from __future__ import annotations

import json

from prefect.utilities import schema_tools

from flows.prefect.decision_forms import describe
from flows.prefect.forms import (
    amendment_form,
    approval_form,
    checkin_form,
    completion_form,
    consent_form,
)
from tests.e2e.harness import as_the_ui_fills_it


def server_accepts(schema: dict[str, object], values: dict[str, object]) -> bool:
    """What the Prefect server does with a resume's run input before it resumes the run."""
    return not schema_tools.validate(values, schema, raise_on_error=False)


def test_no_form_asks_who_decides_or_a_code_or_free_text_but_the_approvals_comment() -> None:
    forms = (approval_form(), amendment_form(), consent_form(), checkin_form(), completion_form())
    for form in forms:
        schema = form.model_json_schema()
        fields = set(schema.get("properties", {}))
        assert not fields & {"approved_by", "recorded_by", "code"}, form.__name__
        free = [k for k, v in schema.get("properties", {}).items() if "enum" not in v]
        allowed = ["comment"] if form.__name__ == "PlanApproval" else []
        assert free == allowed, f"no free text, which could name someone: {json.dumps(schema)}"
        assert "const" not in json.dumps(schema), "a const is a disabled, empty box in the UI"


def test_each_form_is_submittable_as_the_ui_fills_it() -> None:
    for form, choose in (
        (approval_form(), {}),
        (approval_form(), {"decision": "send-back", "comment": "the housing step needs a date"}),
        (amendment_form(), {}),
        (consent_form(), {"decision": "given"}),
        (checkin_form(), {"outcome": "missed"}),
        (completion_form(), {}),
    ):
        schema = form.model_json_schema()
        values = as_the_ui_fills_it(schema, choose)
        assert server_accepts(schema, values), form.__name__
        form.model_validate(values)


def test_the_text_above_a_form_says_who_may_decide_and_asks_no_code() -> None:
    status = {
        "manager": "n-zdolnik",
        "revision": 1,
        "steps": [{"id": "stay", "domain": "housing", "partner": "brest-crisis-room"}],
        "deciders": {"approve": ["l-istomova", "d-director"], "act": ["n-zdolnik"]},
    }
    text = describe(status, "BC-1", "approval", "")
    assert "`l-istomova`, `d-director`" in text and "signed in at the door" in text
    assert "code" not in text.lower()
