"""The decision forms as the default Prefect UI shows them: submittable whatever the staff
directory holds, offering only those who may decide, checked by the server's own validator."""

from __future__ import annotations

import json

import pytest
from prefect.utilities import schema_tools

from casework.access import deciders
from flows.forms import approval_form, consent_form
from plans.directories import Directories, StaffDirectory
from tests.e2e.harness import as_the_ui_fills_it


def with_staff(directories: Directories, staff: dict[str, str]) -> Directories:
    members = {sid: {"name": sid, "role": role, "notify": []} for sid, role in staff.items()}
    return Directories(directories.partners, StaffDirectory.model_validate({"staff": members}))


def server_accepts(schema: dict[str, object], values: dict[str, object]) -> bool:
    """What the Prefect server does with a resume's run input before it resumes the run."""
    return not schema_tools.validate(values, schema, raise_on_error=False)


def test_the_approval_form_with_the_one_shipped_supervisor_can_be_submitted(
    directories: Directories,
) -> None:
    eligible = deciders(directories, power="approve", manager="n-zdolnik", supervisor="l-istomova")
    assert eligible == ["l-istomova"]
    form = approval_form(eligible)
    schema = form.model_json_schema()
    assert "const" not in json.dumps(schema), "a const is a disabled, empty box in the UI"
    values = as_the_ui_fills_it(schema, {"approved_by": "l-istomova", "code": "042917"})
    assert server_accepts(schema, values)
    assert form.model_validate(values).approved_by == "l-istomova"  # type: ignore[attr-defined]  # a field of the generated form


def test_a_form_offers_only_those_who_may_decide_and_the_server_refuses_others(
    directories: Directories,
) -> None:
    dirs = with_staff(
        directories,
        {
            "cm": "case-manager",
            "cm2": "case-manager",
            "s1": "supervisor",
            "s2": "supervisor",
            "d": "director",
        },
    )
    approve = approval_form(deciders(dirs, power="approve", manager="cm", supervisor="s1"))
    schema = approve.model_json_schema()
    assert schema["properties"]["approved_by"]["enum"] == ["s1", "d"]
    assert server_accepts(
        schema, as_the_ui_fills_it(schema, {"approved_by": "d", "code": "123456"})
    )
    for who in ("cm", "s2"):
        assert not server_accepts(schema, {"approved_by": who, "code": "123456"}), who
    assert not server_accepts(schema, {"approved_by": "s1"}), "no code: refused, it waits"
    assert not server_accepts(schema, {"approved_by": "s1", "code": "12345"})
    consent = consent_form(deciders(dirs, power="act", manager="cm", supervisor="s1"))
    schema = consent.model_json_schema()
    assert schema["properties"]["recorded_by"]["enum"] == ["cm", "s1", "d"]
    assert server_accepts(
        schema,
        as_the_ui_fills_it(schema, {"decision": "given", "recorded_by": "cm", "code": "654321"}),
    )


def test_a_form_nobody_may_decide_says_so_and_refuses_whoever_is_typed() -> None:
    form = approval_form([])
    schema = form.model_json_schema()
    field = schema["properties"]["approved_by"]
    assert "nobody in the staff directory may take this decision" in field["description"]
    assert server_accepts(
        schema, as_the_ui_fills_it(schema, {"approved_by": "cm", "code": "111111"})
    )
    with pytest.raises(ValueError, match="may not take this decision"):
        form.model_validate({"approved_by": "cm", "code": "111111"})
