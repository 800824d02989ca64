"""Screening what travels unsealed (step titles and ids reach partners and Prefect; audit
reasons and notes are read by staff) for the person's name or contact: case- and
accent-insensitive, and across Cyrillic and Latin letters (security.md rule 7)."""

from __future__ import annotations

import re
import unicodedata

from plans.model import Person, Plan

CYRILLIC = dict(
    zip(
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюяіў",
        [
            "a",
            "b",
            "v",
            "g",
            "d",
            "e",
            "e",
            "zh",
            "z",
            "i",
            "i",
            "k",
            "l",
            "m",
            "n",
            "o",
            "p",
            "r",
            "s",
            "t",
            "u",
            "f",
            "kh",
            "ts",
            "ch",
            "sh",
            "shch",
            "",
            "y",
            "",
            "e",
            "yu",
            "ya",
            "i",
            "u",
        ],
        strict=True,
    )
)
MIN_NAME = 3  # shorter name parts ("Li") would match too much
MIN_DIGITS = 5  # a phone number's tail


def fold(text: str) -> str:
    """Lower case, no accents, Cyrillic spelt in Latin letters, words split by single spaces."""
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(CYRILLIC.get(ch, ch) for ch in text if not unicodedata.combining(ch))
    text = text.replace("kh", "h").replace("j", "i").replace("y", "i")  # common spelling twins
    return " ".join(re.findall(r"[a-z0-9]+", text))


def _needles(person: Person) -> tuple[list[str], list[str]]:
    """(words, digit runs) that would point at the person."""
    words = [
        w
        for part in (person.name, person.contact)
        if part
        for w in fold(part).split()
        if len(w) >= MIN_NAME and not w.isdigit()
    ]
    digits = [
        d
        for d in re.findall(r"\d+", re.sub(r"[\s\-().]", "", person.contact or ""))
        if len(d) >= MIN_DIGITS
    ]
    return words, digits


def names_person(text: str, person: Person) -> bool:
    """True if `text` holds a word of the person's name or contact, or their number."""
    words, digits = _needles(person)
    folded = f" {fold(text)} "
    plain_digits = re.sub(r"\D", "", text)
    return any(f" {w} " in folded for w in words) or any(
        d in plain_digits or d[-MIN_DIGITS - 2 :] in plain_digits for d in digits
    )


def screen(plan: Plan, person: Person | None) -> list[str]:
    """The field paths of the plan's step titles and ids that name the person."""
    if person is None:
        return []
    found = []
    for i, step in enumerate(plan.steps):
        for field in ("id", "title"):
            if names_person(getattr(step, field), person):
                found.append(f"steps[{i}].{field}")
    return found
