"""How screened text is compared: one normal form for step titles, ids, notes, reasons and
comments, and for the person's data they are compared with (security.md rule 7)."""

from __future__ import annotations

import re
import unicodedata

CYRILLIC = dict(
    zip(
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюяіў",
        [
            *("a", "b", "v", "g", "d", "e", "e", "zh", "z", "i", "i", "k", "l", "m", "n", "o"),
            *("p", "r", "s", "t", "u", "f", "kh", "ts", "ch", "sh", "shch", "", "y", "", "e"),
            *("yu", "ya", "i", "u"),
        ],
        strict=True,
    )
)


def _ascii_digit(ch: str) -> str:
    # Any script's decimal digit (Arabic-Indic, Devanagari ...) reads as the digit it is.
    value = unicodedata.decimal(ch, None)
    return str(value) if value is not None else ch


def normalise(text: str) -> str:
    """NFKC (full-width and other look-alike forms as their plain letters), Unicode format
    characters (category Cf: zero-width spaces and joiners, soft hyphens, direction marks)
    removed, every digit in ASCII, runs of whitespace as one space."""
    text = unicodedata.normalize("NFKC", text)
    text = "".join(_ascii_digit(ch) for ch in text if unicodedata.category(ch) != "Cf")
    return " ".join(text.split())


def fold(text: str) -> str:
    """Normalised, lower case, no accents, Cyrillic spelt in Latin letters, words split by
    single spaces."""
    text = unicodedata.normalize("NFKD", normalise(text).casefold())
    text = "".join(CYRILLIC.get(ch, ch) for ch in text if not unicodedata.combining(ch))
    text = text.replace("kh", "h").replace("j", "i").replace("y", "i")  # common spelling twins
    return " ".join(re.findall(r"[a-z0-9]+", text))


def digits(text: str) -> str:
    """Every digit of the normalised text, in order, nothing else."""
    return re.sub(r"\D", "", normalise(text))
