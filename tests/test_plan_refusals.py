"""Every refusal the contract lists: the message names the file, the field path, what is valid."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from notifications.channels import check_url
from plans.directories import Directories
from plans.errors import InvalidFile, Issue
from plans.loading import load_directories, load_plan, parse_plan
from tests.conftest import EXAMPLES

GOOD: dict[str, Any] = yaml.safe_load((EXAMPLES / "BC-2026-0042.yaml").read_text())


def refuse(directories: Directories, change: Any) -> list[Issue]:
    raw = copy.deepcopy(GOOD)
    change(raw)
    with pytest.raises(InvalidFile) as caught:
        parse_plan(raw, "plan.yaml", directories)
    assert all(i.file == "plan.yaml" for i in caught.value.issues)
    return caught.value.issues


def only(issues: list[Issue]) -> Issue:
    assert len(issues) == 1, issues
    return issues[0]


def test_the_good_example_is_accepted(directories: Directories) -> None:
    assert parse_plan(copy.deepcopy(GOOD), "plan.yaml", directories).case == "BC-2026-0042"


def test_an_unknown_manager_is_refused_naming_the_case_managers(directories: Directories) -> None:
    issue = only(refuse(directories, lambda p: p.update(manager="nobody")))
    assert issue.path == "manager"
    assert "unknown staff id 'nobody'" in issue.message and "n-zdolnik" in issue.message


def test_a_supervisor_as_manager_is_refused_for_the_wrong_role(directories: Directories) -> None:
    issue = only(refuse(directories, lambda p: p.update(manager="l-istomova")))
    assert issue.path == "manager" and "not a case-manager" in issue.message


def test_a_case_manager_as_supervisor_is_refused(directories: Directories) -> None:
    issue = only(refuse(directories, lambda p: p.update(supervisor="n-zdolnik")))
    assert issue.path == "supervisor" and "not a supervisor" in issue.message
    assert "l-istomova" in issue.message


def test_an_unknown_partner_is_refused_at_its_step(directories: Directories) -> None:
    issue = only(refuse(directories, lambda p: p["steps"][2].update(partner="ghost")))
    assert issue.path == "steps[2].partner"
    assert "unknown partner 'ghost'" in issue.message and "brest-clinic" in issue.message


def test_a_duplicate_step_id_is_refused_naming_both(directories: Directories) -> None:
    issue = only(refuse(directories, lambda p: p["steps"][2].update(id="rehab-centre")))
    assert issue.path == "steps[2].id"
    assert "duplicate step id 'rehab-centre'" in issue.message and "steps[0].id" in issue.message


def test_after_naming_an_unknown_step_is_refused(directories: Directories) -> None:
    issue = only(refuse(directories, lambda p: p["steps"][1].update(after=["x-ray"])))
    assert issue.path == "steps[1].after[0]" and "unknown step 'x-ray'" in issue.message


def test_a_dependency_cycle_is_refused_naming_the_cycle(directories: Directories) -> None:
    def cycle(p: dict[str, Any]) -> None:
        p["steps"][0]["after"] = ["psychologist"]
        p["steps"][1]["after"] = ["rehab-centre"]
        p["steps"][2]["after"] = ["medical-check"]

    issue = only(refuse(directories, cycle))
    assert issue.path.startswith("steps[") and issue.path.endswith("].after")
    assert "dependency cycle" in issue.message
    for step in ("rehab-centre", "medical-check", "psychologist"):
        assert step in issue.message


def test_a_step_after_itself_is_a_cycle(directories: Directories) -> None:
    issue = only(refuse(directories, lambda p: p["steps"][0].update(after=["rehab-centre"])))
    assert "rehab-centre → rehab-centre" in issue.message


def test_a_bad_duration_is_refused_with_an_example(directories: Directories) -> None:
    issue = only(refuse(directories, lambda p: p["steps"][0].update(duration="two weeks")))
    assert issue.path == "steps[0].duration (step rehab-centre)"
    assert "'two weeks'" in issue.message and "14d" in issue.message


def test_a_bad_duration_deep_in_check_ins_is_refused(directories: Directories) -> None:
    issue = only(
        refuse(directories, lambda p: p["steps"][2]["check_ins"].update(remind=["2d", "soon"]))
    )
    assert issue.path == "steps[2].check_ins.remind[1] (step psychologist)"


def test_a_bad_timezone_is_refused(directories: Directories) -> None:
    issue = only(refuse(directories, lambda p: p.update(timezone="Europe/Atlantis")))
    assert issue.path == "timezone" and "Europe/Minsk" in issue.message


@pytest.mark.parametrize("code", ["BC", "BC 2026", "BC_2026_0042", "Ж-2026", "x" * 41])
def test_a_bad_case_code_is_refused(directories: Directories, code: str) -> None:
    issue = only(refuse(directories, lambda p: p.update(case=code)))
    assert issue.path == "case" and "3-40 of A-Z a-z 0-9 and '-'" in issue.message


def test_an_unknown_domain_is_refused_listing_the_domains(directories: Directories) -> None:
    issue = only(refuse(directories, lambda p: p["steps"][1].update(domain="spiritual")))
    assert issue.path == "steps[1].domain (step medical-check)"
    assert "'spiritual'" in issue.message and "'humanitarian'" in issue.message


@pytest.mark.parametrize(
    ("field", "path"), [("case", "case"), ("manager", "manager"), ("steps", "steps")]
)
def test_a_missing_required_field_is_refused(
    directories: Directories, field: str, path: str
) -> None:
    issues = refuse(directories, lambda p: p.pop(field))
    assert any(i.path == path and i.message == "required field missing" for i in issues)


def test_a_missing_step_field_is_refused_at_the_step(directories: Directories) -> None:
    issue = only(refuse(directories, lambda p: p["steps"][0].pop("partner")))
    assert issue.path == "steps[0].partner (step rehab-centre)"
    assert issue.message == "required field missing"


def test_an_unknown_field_is_refused_listing_the_valid_ones(directories: Directories) -> None:
    issue = only(refuse(directories, lambda p: p["steps"][0].update(colour="blue")))
    assert issue.path == "steps[0].colour (step rehab-centre)"
    assert "unknown field 'colour'" in issue.message and "check_ins" in issue.message


def test_an_unknown_field_of_the_person_is_refused(directories: Directories) -> None:
    issue = only(refuse(directories, lambda p: p["person"].update(passport="X")))
    assert issue.path == "person.passport" and "birth_year" in issue.message


def test_every_problem_of_a_file_is_reported_together(directories: Directories) -> None:
    def many(p: dict[str, Any]) -> None:
        p["manager"] = "nobody"
        p["timezone"] = "Nowhere/City"
        p["steps"][0]["partner"] = "ghost"
        p["steps"][1]["duration"] = "forever"
        p["steps"][2]["id"] = "rehab-centre"

    paths = {i.path.split(" ")[0] for i in refuse(directories, many)}
    assert paths == {"manager", "timezone", "steps[0].partner", "steps[1].duration", "steps[2].id"}


def test_a_file_that_is_not_yaml_is_refused_naming_the_line(
    directories: Directories, tmp_path: Path
) -> None:
    bad = tmp_path / "plan.yaml"
    bad.write_text("case: BC-1\nsteps:\n  - id: [unclosed\n")
    with pytest.raises(InvalidFile) as caught:
        load_plan(bad, directories)
    assert str(bad) in str(caught.value) and "line" in caught.value.issues[0].path


def test_a_partner_directory_with_a_bad_apprise_url_is_refused(tmp_path: Path) -> None:
    partners = yaml.safe_load((EXAMPLES / "partners.yaml").read_text())
    partners["partners"]["brest-clinic"]["notify"].append("nosuchscheme://x")
    partners["partners"]["brest-clinic"]["quiet_hours"] = "late"
    file = tmp_path / "partners.yaml"
    file.write_text(yaml.safe_dump(partners))
    with pytest.raises(InvalidFile) as caught:
        load_directories(file, EXAMPLES / "staff.yaml", url_check=check_url)
    paths = [i.path for i in caught.value.issues]
    assert paths == ["partners.brest-clinic.quiet_hours"]  # schema problems come first
    partners["partners"]["brest-clinic"]["quiet_hours"] = "20:00-08:00"
    file.write_text(yaml.safe_dump(partners))
    with pytest.raises(InvalidFile) as caught:
        load_directories(file, EXAMPLES / "staff.yaml", url_check=check_url)
    assert [i.path for i in caught.value.issues] == ["partners.brest-clinic.notify[1]"]


def test_a_staff_directory_whose_default_supervisor_is_no_supervisor_is_refused(
    tmp_path: Path,
) -> None:
    staff = yaml.safe_load((EXAMPLES / "staff.yaml").read_text())
    staff["default_supervisor"] = "n-zdolnik"
    file = tmp_path / "staff.yaml"
    file.write_text(yaml.safe_dump(staff))
    with pytest.raises(InvalidFile) as caught:
        load_directories(EXAMPLES / "partners.yaml", file)
    assert caught.value.issues[0].path == "default_supervisor"
