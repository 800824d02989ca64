"""A decision's form speaks the language of the person it waits on: every kind's text exists in
en, ru and be and carries the same facts (case code, step ids, partners, revision, scope, who
may decide, the due time in the plan's local time); the forms' fields keep their names and
values in every language (the door records them), only their words change."""

from __future__ import annotations

from typing import Any

import pytest

from casework.domain.decision_kinds import KINDS
from flows.prefect.decision_forms import describe, form_for, language_of
from notifications.render import LANGUAGES
from plans.directories import Directories, StaffDirectory

CASE = "BC-2026-0042"
STATUS: dict[str, Any] = {
    "manager": "n-zdolnik",
    "supervisor": "l-istomova",
    "revision": 3,
    "timezone": "Europe/Minsk",
    "steps": [
        {
            "id": "med-check",
            "domain": "medical",
            "partner": "brest-clinic",
            "needs_approval": True,
            "state": "awaiting-consent",
            "check_ins": [{"at": "2026-03-02T07:30:00+00:00"}],
        }
    ],
    "deciders": {"act": ["n-zdolnik", "d-director"], "approve": ["l-istomova", "d-director"]},
}
SCOPES = {
    "approval": "",
    "amendment": "rev-3",
    "consent": "medical",
    "check-in": "med-check-1",
    "completion": "med-check",
}
# The facts each kind's text shows, whatever its language.
FACTS = {
    "approval": ["`n-zdolnik`", "3"],
    "amendment": ["`n-zdolnik`", "3"],
    "consent": ["`medical`"],
    "check-in": ["2026-03-02 10:30 Europe/Minsk"],
    "completion": [],
}


def test_the_catalog_names_every_kind_of_decision() -> None:
    assert set(SCOPES) == set(KINDS)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kinds_text_exists_in_every_language_with_the_same_facts(
    kind: str, language: str
) -> None:
    text = describe(STATUS, CASE, kind, SCOPES[kind], language)
    power = KINDS[kind].power
    facts = [CASE, "`med-check`", "`brest-clinic`", *FACTS[kind]]
    facts += [f"`{s}`" for s in STATUS["deciders"][power]]
    for fact in facts:
        assert fact in text, f"{kind} in {language} lacks {fact}: {text}"
    assert text.startswith("## ") and "{{" not in text and "}}" not in text


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_the_russian_and_belarusian_texts_are_not_the_english_one(kind: str) -> None:
    texts = {lang: describe(STATUS, CASE, kind, SCOPES[kind], lang) for lang in LANGUAGES}
    assert len(set(texts.values())) == len(LANGUAGES), texts
    assert "May decide" in texts["en"]
    assert "Кто может решить" in texts["ru"] and "Хто можа вырашыць" in texts["be"]


def test_a_text_no_one_may_decide_yet_says_so_in_its_language() -> None:
    status = {**STATUS, "deciders": {"act": [], "approve": []}}
    assert "пока никто" in describe(status, CASE, "approval", "", "ru")
    assert "пакуль ніхто" in describe(status, CASE, "approval", "", "be")
    assert "nobody yet" in describe(status, CASE, "approval", "", "en")


def test_an_unknown_language_falls_back_to_english() -> None:
    assert describe(STATUS, CASE, "consent", "medical", "fr") == describe(
        STATUS, CASE, "consent", "medical", "en"
    )


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_each_forms_fields_keep_their_names_and_values_in_every_language(kind: str) -> None:
    schemas = {lang: form_for(kind, lang).model_json_schema() for lang in LANGUAGES}
    fields = {
        lang: {name: p.get("enum") for name, p in s.get("properties", {}).items()}
        for lang, s in schemas.items()
    }
    assert fields["ru"] == fields["en"] == fields["be"], "the door records names and values"
    choice = KINDS[kind].choice
    if choice is None:
        return
    words = {lang: s["properties"][choice.field]["description"] for lang, s in schemas.items()}
    assert len(set(words.values())) == len(LANGUAGES), words
    for value in choice.values:  # what each English value means, said in her language
        assert value in words["ru"] and value in words["be"], (value, words)


def test_the_form_of_a_language_is_built_once() -> None:
    assert form_for("consent", "ru") is form_for("consent", "ru")
    assert form_for("consent", "ru") is not form_for("consent", "be")


def directory(example: Directories, **languages: str) -> Directories:
    roles = {"cm": "case-manager", "sup": "supervisor", "dir": "director"}
    staff = StaffDirectory.model_validate({
        "staff": {
            sid: {"name": sid, "role": role, "notify": [], "language": languages.get(sid, "en")}
            for sid, role in roles.items()
        }
    })  # fmt: skip
    return Directories(example.partners, staff)


def test_a_form_waits_in_the_language_of_its_manager_or_of_its_supervisor_now(
    directories: Directories,
) -> None:
    dirs = directory(directories, cm="ru", sup="be", dir="ru")
    status = {"manager": "cm", "supervisor": "sup"}
    assert language_of(dirs, "consent", status) == "ru"
    assert language_of(dirs, "check-in", status) == "ru"
    assert language_of(dirs, "approval", status) == "be"
    assert language_of(dirs, "amendment", status) == "be"
    # With no supervisor (directors alone decide) or a manager gone from the directory: English.
    assert language_of(dirs, "approval", {"manager": "cm", "supervisor": ""}) == "en"
    assert language_of(dirs, "consent", {"manager": "gone", "supervisor": "sup"}) == "en"
    # A supervisor demoted since is not the one the form waits on.
    assert language_of(dirs, "approval", {"manager": "cm", "supervisor": "cm"}) == "en"
