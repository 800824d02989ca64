"""A birth date written in any common form, found in screened text: ISO (1991-03-14), day
first (14.03.1991, 14/03/91), month first (03/14/1991), run together (14031991, 19910314),
and with the month's name in English, Russian or Belarusian (14 March 1991, March 14th, 1991,
14 марта 1991, 14 сакавіка 1991)."""

from __future__ import annotations

import re
from datetime import date

from plans.folding import digits, fold

_MONTH_WORDS = (
    # English names and abbreviations; Russian and Belarusian, nominative and genitive.
    "january jan январь января янв студзень студзеня",
    "february feb февраль февраля фев люты лютага",
    "march mar март марта сакавік сакавіка",
    "april apr апрель апреля красавік красавіка",
    "may май мая травень траўня",
    "june jun июнь июня чэрвень чэрвеня",
    "july jul июль июля ліпень ліпеня",
    "august aug август августа авг жнівень жніўня",
    "september sep sept сентябрь сентября сен верасень верасня",
    "october oct октябрь октября окт кастрычнік кастрычніка",
    "november nov ноябрь ноября ноя лістапад лістапада",
    "december dec декабрь декабря дек снежань снежня",
)
MONTHS = {
    fold(word): number for number, words in enumerate(_MONTH_WORDS, 1) for word in words.split()
}
# Words that may stand between a date's parts: ordinals (14th, and the Russian "-go") and "of".
_FILLER = {"st", "nd", "rd", "th", "go", "of", "the"}


def _day(token: str, born: date) -> bool:
    return token.isdigit() and len(token) <= 2 and int(token) == born.day


def _month(token: str, born: date) -> bool:
    if token.isdigit():
        return len(token) <= 2 and int(token) == born.month
    return MONTHS.get(token) == born.month


def _year(token: str, born: date) -> bool:
    if not token.isdigit():
        return False
    return (len(token) == 4 and int(token) == born.year) or (
        len(token) == 2 and int(token) == born.year % 100
    )


def _compact(born: date) -> tuple[set[str], set[str]]:
    """The date run together: eight digits (day, month or year first), and six."""
    d, m, y, yy = (
        f"{born.day:02d}",
        f"{born.month:02d}",
        f"{born.year:04d}",
        f"{born.year % 100:02d}",
    )
    return {d + m + y, y + m + d, m + d + y}, {d + m + yy, yy + m + d, m + d + yy}


def mentions_date(text: str, born: date) -> bool:
    """True if `text` writes the date `born` in a common form (with its year)."""
    tokens = [t for t in re.findall(r"[a-z]+|[0-9]+", fold(text)) if t not in _FILLER]
    eight, six = _compact(born)
    if any(run in digits(text) for run in eight):
        return True
    if any(t in six for t in tokens):
        return True
    for a, b, c in zip(tokens, tokens[1:], tokens[2:], strict=False):
        if _year(c, born) and (
            (_day(a, born) and _month(b, born)) or (_month(a, born) and _day(b, born))
        ):
            return True
        if _year(a, born) and _month(b, born) and _day(c, born):
            return True
    return False
