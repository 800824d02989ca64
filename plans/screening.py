"""Screening what travels unsealed (step titles and ids reach partners and Prefect; audit
reasons and notes are read by staff) for the person's name, contact or date of birth: every
text in one normal form (plans/folding.py: NFKC, no invisible format characters), case- and
accent-insensitive, and across Cyrillic and Latin letters (security.md rule 7)."""

from __future__ import annotations

import re

from plans.birth_dates import mentions_date
from plans.folding import digits, fold, normalise
from plans.model import Person, Plan

MIN_NAME = 3  # shorter name parts ("Li") would match too much
MIN_DIGITS = 5  # a phone number's tail


def _stem(word: str) -> str:
    """A name without its ending, so its declined forms match too (Мария: Марии, Марию;
    Иванова: Ивановой): the last two letters of a long name, the last of a shorter one."""
    if len(word) >= 6:
        return word[:-2]
    return word[:-1] if len(word) >= 5 else word


def _needles(person: Person) -> tuple[list[str], list[str], list[str]]:
    """(name stems matched as word starts, contact words matched whole, digit runs)."""
    stems = [_stem(w) for w in fold(person.name or "").split() if len(w) >= MIN_NAME]
    contact = person.contact or ""
    # An address's mailbox names someone; its domain (mail.example, gmail.com) does not.
    mailboxes = re.findall(r"([^\s@,;]+)@", contact)
    rest = re.sub(r"\S+@\S+", " ", contact)
    words = [
        w
        for part in (*mailboxes, rest)
        for w in fold(part).split()
        if len(w) >= MIN_NAME + 1 and not w.isdigit()
    ]
    words += [fold(m) for m in mailboxes if fold(m)]
    numbers = [
        d
        for d in re.findall(r"\d+", re.sub(r"[\s\-().]", "", normalise(contact)))
        if len(d) >= MIN_DIGITS
    ]
    return stems, words, numbers


def names_person(text: str, person: Person) -> bool:
    """True if `text` holds a word starting like a part of the person's name (any case
    ending), a word of their contact, their number, or their date of birth in a common form."""
    stems, words, numbers = _needles(person)
    folded = f" {fold(text)} "
    plain_digits = digits(text)
    return (
        any(f" {s}" in folded for s in stems)
        or any(f" {w} " in folded for w in words)
        or any(d in plain_digits or d[-MIN_DIGITS - 2 :] in plain_digits for d in numbers)
        or (person.birth_date is not None and mentions_date(text, person.birth_date))
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
