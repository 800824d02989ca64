"""The one adapter from a case's unsealed `person` block to what the report may know of them:
a frozen `Who` holding HTCDS codes only (no name, contact, birth date or year).

It reads the block as a plain dict, so it takes both the stored values of plans/model.py
(`female`, `domestic-servitude`) and HTCDS words (`Feminine`, `Servitude`), and blocks sealed
before the model had every field."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from plans.model import EXPLOITATION_WORDS, GENDER_WORDS, SEXUAL_WORDS
from report.vocabulary import EXPLOITATION, GENDER, SEXUAL

# The person block's own words (plans/model.py), read again here since a stored block may
# predate them; "nonconforming" as older records spell it.
_HTCDS_GENDER = {**GENDER_WORDS, "nonconforming": "other"}
_HTCDS_EXPLOITATION = EXPLOITATION_WORDS
_HTCDS_SEXUAL = SEXUAL_WORDS


@dataclass(frozen=True)
class Who:
    """One person as the broken-down tables see them: codes only."""

    gender: str  # prs_Gender code
    majority: str  # Adult | Minor | Unknown
    exploitation: tuple[str, ...]  # vic_TypeOfExploitation codes, at least one
    sexual: tuple[str, ...]  # vic_TypeOfSexExploitation codes
    countries: tuple[str, ...]  # ISO 3166-1 alpha-2

    @property
    def group(self) -> str:
        """Population group: women, men, girls, boys, other or unknown."""
        if self.majority == "Unknown" or self.gender not in ("Feminine", "Masculine"):
            return "OtherOrUnknown"
        female = self.gender == "Feminine"
        if self.majority == "Minor":
            return "Girls" if female else "Boys"
        return "Women" if female else "Men"


def _day(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    if isinstance(value, str) and value:
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def identified_on(person: Mapping[str, Any] | None) -> date | None:
    """`person.identified_on`, where the case was recorded after the fact."""
    return _day((person or {}).get("identified_on"))


def _majority(person: Mapping[str, Any], identified: date) -> str:
    minor = person.get("minor_at_identification")
    if isinstance(minor, bool):
        return "Minor" if minor else "Adult"
    born = _day(person.get("birth_date"))
    if born is not None:
        age = (
            identified.year
            - born.year
            - ((identified.month, identified.day) < (born.month, born.day))
        )
        return "Minor" if age < 18 else "Adult"
    year = person.get("birth_year")
    if isinstance(year, int):
        # The birth year alone tells only when the year of identification is far enough off.
        gap = identified.year - year
        if gap >= 19:
            return "Adult"
        if gap <= 17:
            return "Minor"
    return "Unknown"


def _words(values: Any, htcds: dict[str, str], stored: dict[str, str]) -> list[str]:
    found: list[str] = []
    for raw in values or []:
        word = str(raw).strip()
        key = htcds.get(word.lower().replace("-", "").replace("_", ""), word.lower())
        code = stored.get(key)
        if code is not None and code not in found:
            found.append(code)
    return found


def who(person: Mapping[str, Any] | None, *, identified: date) -> Who:
    """The person's codes; an empty or missing block reads as every field unknown."""
    data = person or {}
    gender = str(data.get("gender") or "unknown").strip().lower()
    gender = _HTCDS_GENDER.get(gender.replace("_", ""), gender)
    sexual = _words(data.get("sexual_exploitation"), _HTCDS_SEXUAL, SEXUAL)
    raw = list(data.get("exploitation") or [])
    if any(str(v).strip().lower() == "pornography" for v in raw) and "Pornography" not in sexual:
        sexual.append("Pornography")
    exploitation = _words(raw, _HTCDS_EXPLOITATION, EXPLOITATION)
    if sexual and "SexualExploitation" not in exploitation:
        exploitation.insert(0, "SexualExploitation")
    countries = [str(c).strip().upper() for c in data.get("exploitation_countries") or []]
    return Who(
        gender=GENDER.get(gender, "NonSpecifiedUnknown"),
        majority=_majority(data, identified),
        exploitation=tuple(exploitation or ["NotSpecified"]),
        sexual=tuple(sexual),
        countries=tuple(dict.fromkeys(c for c in countries if len(c) == 2 and c.isalpha())),
    )
