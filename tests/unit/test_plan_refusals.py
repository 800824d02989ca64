"""Every refusal the contract lists: the message names the file, the field path, what is valid."""

from __future__ import annotations

import copy
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from notifications.channels import check_url
from plans.directories import Directories
from plans.errors import InvalidFile, Issue
from plans.loading import load_directories, load_plan, parse_plan, read_yaml
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


def test_a_zero_or_negative_recurrence_is_refused_naming_the_field(
    directories: Directories,
) -> None:
    for every in ("0s", "P0D", "-7d"):
        issue = only(
            refuse(directories, lambda p, e=every: p["steps"][2]["check_ins"].update(every=e))
        )
        assert issue.path == "steps[2].check_ins.every (step psychologist)", every
        assert "not positive" in issue.message or "not a duration" in issue.message


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (lambda p: p["steps"][0].update(duration="99999999999999999w"), "steps[0].duration"),
        (lambda p: p["steps"][1].update(due="2610w"), "steps[1].due"),
        (lambda p: p["steps"][1].update(start="P20000D"), "steps[1].start"),
        (lambda p: p["steps"][2]["check_ins"].update(first="18263d"), "steps[2].check_ins.first"),
        (
            lambda p: p["steps"][2]["check_ins"].update(remind=["2d", "2610w"]),
            "steps[2].check_ins.remind[1]",
        ),
        (lambda p: p["steps"][2]["check_ins"].update(grace="2610w"), "steps[2].check_ins.grace"),
        (lambda p: p.update(escalate_after="2610w"), "escalate_after"),
    ],
)
def test_a_duration_over_fifty_years_is_refused_in_every_field(
    directories: Directories, change: Any, path: str
) -> None:
    issue = only(refuse(directories, change))
    assert issue.path.split(" (step")[0] == path
    assert "at most 50 years" in issue.message


@pytest.mark.parametrize(
    ("start", "says"),
    [
        ("1899-12-31T23:59", "out of range: give a date between 1900 and 2200"),
        ("2201-01-01T09:00", "out of range: give a date between 1900 and 2200"),
        ("0001-01-01T00:00", "out of range: give a date between 1900 and 2200"),
        ("2026-02-30T09:00", "not a date and time that exists"),
    ],
)
def test_a_start_outside_1900_to_2200_or_that_does_not_exist_is_refused(
    directories: Directories, start: str, says: str
) -> None:
    issue = only(refuse(directories, lambda p: p.update(start=start)))
    assert issue.path == "start" and says in issue.message


def test_a_step_whose_duration_holds_too_many_check_ins_is_refused(
    directories: Directories,
) -> None:
    issue = only(refuse(directories, lambda p: p["steps"][2]["check_ins"].update(every="1s")))
    assert issue.path == "steps[2].check_ins (step psychologist)"
    assert "every 1s within the step's duration 8w makes 4,838,400 check-ins" in issue.message
    assert "more than 10,000" in issue.message


def test_a_count_of_check_ins_is_bounded(directories: Directories) -> None:
    issue = only(refuse(directories, lambda p: p["steps"][2]["check_ins"].update(count=10**12)))
    assert issue.path == "steps[2].check_ins.count (step psychologist)"


def test_a_consent_scope_with_a_typo_is_refused_naming_the_known_ones(
    directories: Directories,
) -> None:
    issue = only(refuse(directories, lambda p: p["steps"][1].update(consent=["medicl"])))
    assert issue.path == "steps[1].consent[0]"
    assert "unknown consent scope 'medicl'" in issue.message
    assert "medical" in issue.message and "statistics" in issue.message
    assert "child-psychological" in issue.message, "the programme's declared scopes are named"
    assert "consent_scopes" in issue.message


def test_scopes_the_programme_declares_and_statistics_are_accepted(
    directories: Directories,
) -> None:
    raw = copy.deepcopy(GOOD)
    raw["steps"][1]["consent"] = ["medical", "education", "statistics"]
    assert parse_plan(raw, "plan.yaml", directories).steps[1].consent[1] == "education"


def test_a_step_may_be_urgent_which_is_true_or_false_and_false_by_default(
    directories: Directories,
) -> None:
    raw = copy.deepcopy(GOOD)
    raw["steps"][0]["urgent"] = True
    plan = parse_plan(raw, "plan.yaml", directories)
    assert plan.steps[0].urgent is True and plan.steps[1].urgent is False
    issue = only(refuse(directories, lambda p: p["steps"][0].update(urgent="maybe")))
    assert issue.path == "steps[0].urgent (step rehab-centre)"


def test_a_partner_waits_3_days_for_an_answer_by_default_and_zero_is_refused(
    tmp_path: Path,
) -> None:
    partners = yaml.safe_load((EXAMPLES / "partners.yaml").read_text())
    file = tmp_path / "partners.yaml"
    file.write_text(yaml.safe_dump(partners))
    loaded = load_directories(file, EXAMPLES / "staff.yaml").partners.partners
    assert loaded["brest-clinic"].acknowledge_within == timedelta(days=3)
    partners["partners"]["brest-clinic"]["acknowledge_within"] = "2d"
    partners["partners"]["brest-psychologist"]["acknowledge_within"] = "0s"
    partners["partners"]["minsk-rehab-centre"]["acknowledge_within"] = "99999999999999999w"
    file.write_text(yaml.safe_dump(partners))
    with pytest.raises(InvalidFile) as caught:
        load_directories(file, EXAMPLES / "staff.yaml")
    assert sorted(i.path for i in caught.value.issues) == [
        "partners.brest-psychologist.acknowledge_within",
        "partners.minsk-rehab-centre.acknowledge_within",
    ]


def test_a_retention_of_zero_or_over_fifty_years_is_refused(tmp_path: Path) -> None:
    staff = yaml.safe_load((EXAMPLES / "staff.yaml").read_text())
    file = tmp_path / "staff.yaml"
    for retention, says in (("0s", "not positive"), ("99999999999999999w", "50 years")):
        staff["retention"] = retention
        file.write_text(yaml.safe_dump(staff))
        with pytest.raises(InvalidFile) as caught:
            load_directories(EXAMPLES / "partners.yaml", file)
        assert [i.path for i in caught.value.issues] == ["retention"]
        assert says in caught.value.issues[0].message


def test_a_chain_of_steps_running_past_a_century_is_refused_naming_the_step(
    directories: Directories,
) -> None:
    def chain(plan: Any) -> None:
        first = plan["steps"][0]
        plan["steps"] = [
            {**first, "id": f"s{i}", "duration": "18262d", "after": [f"s{i - 1}"] if i else []}
            for i in range(3)
        ]

    issue = only(refuse(directories, chain))
    assert issue.path == "steps[2]"
    assert "step s2 runs until 54786d after the plan's start" in issue.message
    assert "100 years" in issue.message


def test_a_plan_of_more_than_500_steps_is_refused_without_a_recursion_error(
    directories: Directories,
) -> None:
    def many(plan: Any) -> None:
        first = plan["steps"][0]
        plan["steps"] = [
            {**first, "id": f"s{i}", "after": [f"s{i - 1}"] if i else []} for i in range(5000)
        ]

    issue = only(refuse(directories, many))
    assert issue.path == "steps" and "at most 500" in issue.message


def test_a_file_nested_a_hundred_thousand_deep_is_refused_in_one_line_naming_it() -> None:
    deep = "case: " + "[" * 100_000 + "]" * 100_000
    with pytest.raises(InvalidFile) as refused:
        read_yaml("deep.yaml", text=deep)
    assert str(refused.value).splitlines() == [
        "deep.yaml: line 1: not valid YAML: exceeded maximum nesting depth"
    ]
