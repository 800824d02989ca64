"""The person block's statistics fields (HTCDS 2.0 words accepted, stored in the plan format's
own) and the `statistics` consent scope every plan may record."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from casework.domain.errors import NoSuchScope
from casework.services import engine, plan_changes, recording
from casework.store import queries
from casework.store.db import Store
from casework.store.repository import get_case_row
from casework.store.tables import ConsentRow
from plans.countries import ALPHA_2
from plans.directories import Directories
from plans.errors import InvalidFile
from plans.loading import load_plan
from plans.model import Person, Plan
from plans.screening import screen
from tests.conftest import EXAMPLES, T0

OLD_PERSON = {
    "name": "Example Person",
    "gender": "female",
    "birth_year": 1991,
    "contact": "+375 00 000-00-00",
    "exploitation": ["sexual", "labour"],
}


def test_htcds_words_are_stored_in_the_plan_formats_words() -> None:
    person = Person.model_validate(
        {
            "gender": "Feminine",
            "exploitation": ["SexualExploitation", "ForcedLabour", "Servitude", "ForcedMarriage"],
            "sexual_exploitation": ["Prostitution", "RemoteInteractiveServices"],
        }
    )
    assert person.gender == "female"
    assert person.exploitation == ["sexual", "labour", "domestic-servitude", "forced-marriage"]
    assert person.sexual_exploitation == ["prostitution", "remote-interactive-services"]


@pytest.mark.parametrize(
    ("word", "stored"),
    [
        ("Feminine", "female"),
        ("MASCULINE", "male"),
        ("Other", "other"),
        ("transgender", "other"),
        ("non-conforming", "other"),
        ("NonSpecifiedUnknown", "unknown"),
        ("female", "female"),
    ],
)
def test_each_htcds_gender_word_has_its_stored_value(word: str, stored: str) -> None:
    assert Person.model_validate({"gender": word}).gender == stored


def test_every_htcds_exploitation_word_is_accepted() -> None:
    words = [
        "ForcedBegging",
        "ChildLabour",
        "OrganRemoval",
        "Other",
        "NotSpecified",
        "criminal",
    ]
    assert Person.model_validate({"exploitation": words}).exploitation == [
        "begging",
        "child-labour",
        "organ-removal",
        "other",
        "not-specified",
        "criminal",
    ]


def test_pornography_is_sexual_exploitation_of_that_sub_type() -> None:
    person = Person.model_validate({"exploitation": ["labour", "pornography"]})
    assert person.exploitation == ["labour", "sexual"]
    assert person.sexual_exploitation == ["pornography"]


def test_a_sexual_sub_type_implies_sexual_exploitation_and_duplicates_go() -> None:
    person = Person.model_validate(
        {
            "exploitation": ["labour", "ForcedLabour", "labour"],
            "sexual_exploitation": ["PrivateSexualServices", "private-sexual-services"],
        }
    )
    assert person.exploitation == ["labour", "sexual"]
    assert person.sexual_exploitation == ["private-sexual-services"]


def test_country_codes_are_upper_cased_and_checked_against_iso_3166() -> None:
    person = Person.model_validate(
        {"exploitation_countries": ["pl", "DE", "pl"], "citizenship": "by"}
    )
    assert person.exploitation_countries == ["PL", "DE"]
    assert person.citizenship == "BY"
    assert len(ALPHA_2) == 249 and {"BY", "PL", "RU", "LT", "UA"} <= ALPHA_2
    assert "XK" not in ALPHA_2 and "EU" not in ALPHA_2


def test_a_plan_written_before_these_fields_still_reads_the_same() -> None:
    person = Person.model_validate(OLD_PERSON)
    assert person.model_dump(include=set(OLD_PERSON)) == OLD_PERSON
    assert person.birth_date is None and person.citizenship is None
    assert person.exploitation_countries == [] and person.minor_at_identification is None
    again = Person.model_validate(person.model_dump(mode="json"))
    assert again == person, "what is sealed reads back as it was"


def _plan_with(tmp_path: Path, person: dict[str, Any]) -> Path:
    raw = yaml.safe_load((EXAMPLES / "BC-2026-0042.yaml").read_text())
    raw["person"] = person
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True))
    return path


@pytest.mark.parametrize(
    ("person", "field", "says"),
    [
        ({"citizenship": "QZ"}, "person.citizenship", "e.g. PL"),
        ({"exploitation_countries": ["PL", "QZ"]}, "person.exploitation_countries[1]", "e.g. PL"),
        ({"birth_date": "2199-05-17"}, "person.birth_date", "in the future"),
        ({"identified_on": "2199-05-17"}, "person.identified_on", "in the future"),
        (
            {"birth_year": 1990, "birth_date": "1993-05-17"},
            "person.birth_date",
            "does not agree with birth_year",
        ),
        ({"gender": "QZgender"}, "person.gender", "'female', 'male', 'other' or 'unknown'"),
        ({"exploitation": ["QZkind"]}, "person.exploitation[0]", "'not-specified'"),
        ({"minor_at_identification": "QZ"}, "person.minor_at_identification", "not valid"),
    ],
)
def test_a_bad_value_is_refused_naming_the_field_never_quoting_it(
    tmp_path: Path, directories: Directories, person: dict[str, Any], field: str, says: str
) -> None:
    with pytest.raises(InvalidFile) as refused:
        load_plan(_plan_with(tmp_path, person), directories)
    [issue] = refused.value.issues
    assert issue.path == field and says in issue.message
    assert "QZ" not in str(refused.value) and "2199" not in str(refused.value)
    assert "1993" not in str(refused.value)


def test_a_birth_date_alone_is_kept_and_the_year_left_to_whoever_needs_it(
    tmp_path: Path, directories: Directories
) -> None:
    plan = load_plan(_plan_with(tmp_path, {"birth_date": "1991-04-02"}), directories)
    assert plan.person is not None
    assert plan.person.birth_date == date(1991, 4, 2) and plan.person.birth_year is None


def test_today_is_not_in_the_future() -> None:
    assert Person.model_validate({"identified_on": date.today()}).identified_on == date.today()
    with pytest.raises(ValueError, match="in the future"):
        Person.model_validate({"identified_on": date.today() + timedelta(days=3)})


def test_screening_still_finds_the_name_with_the_new_fields_set(example_plan: Plan) -> None:
    person = Person.model_validate(
        {
            **OLD_PERSON,
            "name": "Rehabilitation Person",
            "citizenship": "BY",
            "exploitation_countries": ["PL"],
            "birth_date": "1991-03-03",
        }
    )
    assert screen(example_plan, person) == ["steps[0].title"]


# --- the statistics consent scope ------------------------------------------------------------


def _launch(store: Store, directories: Directories, plan: Plan) -> None:
    plan_changes.launch(
        store, directories, plan=plan, by="n-zdolnik", now=T0, approval_required=False
    )


def test_statistics_consent_is_recorded_for_a_plan_no_step_of_which_needs_it(
    store: Store, directories: Directories, example_plan: Plan
) -> None:
    assert "statistics" not in example_plan.consent_scopes
    _launch(store, directories, example_plan)
    before = queries.case_status(store, code="BC-2026-0042")
    recording.record_consent(
        store,
        directories,
        code="BC-2026-0042",
        scopes=["statistics"],
        status="given",
        by="n-zdolnik",
        now=T0,
    )
    after = queries.case_status(store, code="BC-2026-0042")
    assert after["consents"]["statistics"]["status"] == "given"
    assert [s["state"] for s in after["steps"]] == [s["state"] for s in before["steps"]]
    assert after["waiting_consent"] == before["waiting_consent"], "it gates no step"
    with store.session() as session:
        row = get_case_row(session, code="BC-2026-0042")
        rows = [(c.scope, c.status) for c in row.consents]
    assert rows == [("statistics", "given")]


def test_a_scope_no_step_needs_other_than_statistics_is_still_refused(
    store: Store, directories: Directories, example_plan: Plan
) -> None:
    _launch(store, directories, example_plan)
    with pytest.raises(NoSuchScope, match="statistics"):
        recording.record_consent(
            store,
            directories,
            code="BC-2026-0042",
            scopes=["housing-photos"],
            status="given",
            by="n-zdolnik",
            now=T0,
        )


def test_withdrawing_all_consent_withdraws_statistics_too(
    store: Store, directories: Directories, example_plan: Plan
) -> None:
    _launch(store, directories, example_plan)
    recording.record_consent(
        store,
        directories,
        code="BC-2026-0042",
        scopes=["statistics"],
        status="given",
        by="n-zdolnik",
        now=T0,
    )
    recording.withdraw_all(store, directories, code="BC-2026-0042", by="n-zdolnik", now=T0)
    status = queries.case_status(store, code="BC-2026-0042")
    assert status["state"] == "cancelled"
    assert status["consents"]["statistics"]["status"] == "withdrawn"
    with store.session() as session:
        rows = session.scalars(select(ConsentRow.scope).where(ConsentRow.status == "withdrawn"))
        assert sorted(rows) == ["medical", "psychological", "statistics"]


def test_a_step_that_lists_statistics_waits_for_it(
    store: Store, directories: Directories, example_plan: Plan
) -> None:
    steps = [s.model_copy(update={"consent": ["statistics"]}) for s in example_plan.steps[:1]]
    plan = example_plan.model_copy(update={"steps": steps})
    _launch(store, directories, plan)
    engine.reconcile(store, code=plan.case, now=T0 + timedelta(hours=4))
    status = queries.case_status(store, code=plan.case)
    assert status["waiting_consent"] == ["statistics"]
    assert status["steps"][0]["state"] == "awaiting-consent"
