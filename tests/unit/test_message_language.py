"""Every word a partner or staff member reads is in her language: a message in Russian or
Belarusian carries no English word of the engine's vocabulary (a plan's state, a step's
domain, a consent scope, a message's kind, why a plan ended), whatever the case's codes."""

from __future__ import annotations

import re
from typing import Any

import pytest

from casework.domain.case import CASE_STATES, STEP_STATES
from casework.domain.notices import NOTICE_KINDS
from notifications.render import render
from notifications.words import in_language, schedule
from plans.model import Domain

DOMAINS: tuple[str, ...] = Domain.__args__  # type: ignore[attr-defined]  # Literal values
# The English words the engine's codes would bring into a message, split at hyphens too.
ENGLISH = {
    w
    for code in (*CASE_STATES, *STEP_STATES, *NOTICE_KINDS, "message-dead", *DOMAINS)
    for w in (code, *code.split("-"))
    if len(w) > 2
} | {"consent", "withdrawn", "rule", "breached", "every", "first", "partner", "staff", "statistics"}


def contexts() -> list[dict[str, Any]]:
    """The values the engine passes, as codes, in the situations that carry the most codes."""
    base = {
        "case": "BC-2026-0042",
        "title": "Этап",
        "starts": "2026-12-01 09:00",
        "ends": "2026-12-02 09:00",
        "manager": "Н. Здольник (n-zdolnik)",
        "at": "2026-12-08 09:00",
        "number": 2,
        "step": "talk",
        "partner": "Центр",
        "streak": 2,
        "attempts": 5,
        "staff": "n-zdolnik",  # a lockout's: the staff id and when the lock ends
        "until": "2026-12-08 09:15",
        "failures": 5,
        "window_minutes": 15,
        "lock_minutes": 15,
        # A staff message's links to the door (notifications/staff_links.py) and a send back's
        # sender.
        "case_url": "https://door.example/rehab/cases/BC-2026-0042",
        "form_url": "https://door.example/runs/flow-run/7c0e",
        "link": "https://door.example/runs/flow-run/7c0e",
        "by": "Л. Истомова (l-istomova)",
    }
    return [
        {
            **base,
            "state": state,
            "reason": reason,
            "domain": domain,
            "scope": f"{domain},statistics",
            "failed_kind": kind,
            "failed_recipient": "partner:brest-clinic",
        }
        for state, reason in (
            ("cancelled", "consent withdrawn"),
            ("terminated", "rule talk breached"),
            ("active", "its wake failed (TypeError)"),  # why a case was quarantined
            (
                "active",
                "one wake would create more than 500 check-ins of step talk (check_ins.every 1m)",
            ),
        )
        for domain in DOMAINS
        for kind in ("referral", "plan-ended", "step-cancelled")
    ]


def english_words(text: str) -> set[str]:
    # A command to type is code, the same in every language: it is left out.
    words = re.sub(r"(?m)rehab .*$", " ", text)
    # So is a run's name as the Prefect UI shows it, quoted beside the words "paused run".
    words = re.sub(r"«[^»]*·[^»]*»", " ", words)
    return set(re.findall(r"[a-z]+", words.lower())) & ENGLISH


@pytest.mark.parametrize("language", ["ru", "be"])
def test_no_message_in_her_language_carries_an_english_word_of_the_engine(language: str) -> None:
    for raw in contexts():
        context = in_language(
            {**raw, "schedule": schedule("7d", "2026-12-08 09:00", language)}, language
        )
        for kind in (*NOTICE_KINDS, "message-dead", "test"):
            subject, body = render(kind, language, context)
            found = english_words(f"{subject}\n{body}")
            assert not found, (kind, raw["state"], raw["domain"], found, subject)


def test_a_russian_cancellation_says_cancelled_in_russian() -> None:
    raw = {**contexts()[0], "schedule": ""}
    subject, body = render("plan-ended", "ru", in_language(raw, "ru"))
    assert subject == "План BC-2026-0042: отменён"
    assert "(согласие отозвано)" in body
