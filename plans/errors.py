"""The one error hierarchy: every user error is a RehabError whose message says what to do."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SHOWN_CHARS = 60  # how much of a bad value an error message quotes


class RehabError(Exception):
    """A user error: the CLI prints its message on one line and exits 1."""


@dataclass(frozen=True)
class Issue:
    """One problem in one file, at one field path."""

    file: str
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.path}" if self.path else self.file
        return f"{where}: {self.message}"


class InvalidFile(RehabError):
    """A plan or directory file was refused; carries every issue found, not just the first."""

    def __init__(self, issues: list[Issue]) -> None:
        self.issues = issues
        super().__init__("\n".join(str(i) for i in issues))


def shown(value: Any) -> str:
    """A bad value as an error message may quote it: short, so a huge value cannot flood."""
    text = repr(value) if isinstance(value, (str, int, float, bool)) or value is None else (
        f"a {type(value).__name__}")
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 1] + "…"
