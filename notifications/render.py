"""Message texts: one catalog per language, Jinja2, strict about missing values."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jinja2 import Environment, StrictUndefined, Template

CATALOG = Path(__file__).resolve().parent / "catalog"
LANGUAGES = ("en", "ru", "be")


@cache
def _catalog(language: str) -> dict[str, dict[str, str]]:
    data: dict[str, dict[str, str]] = yaml.safe_load(
        (CATALOG / f"{language}.yaml").read_text(encoding="utf-8")
    )
    return data


@cache
def _environment() -> Environment:
    return Environment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)


@cache
def _template(language: str, kind: str, part: str) -> Template:
    # Compiling costs more than rendering (milliseconds): the outbox renders thousands.
    return _environment().from_string(_catalog(language)[kind][part])


def render(kind: str, language: str, context: dict[str, Any]) -> tuple[str, str]:
    """(subject, body) of a message of `kind` in `language` (en, ru, be)."""
    language = language if language in LANGUAGES else "en"
    subject = _template(language, kind, "subject").render(context).strip()
    body = _template(language, kind, "body").render(context).strip()
    return subject, body


def phrase(language: str, key: str, **values: Any) -> str:
    """One phrase of the partners' answer page (catalog `partner-page`) in `language`."""
    language = language if language in LANGUAGES else "en"
    return _template(language, "partner-page", key).render(values).strip()


def form_phrase(language: str, key: str, **values: Any) -> str:
    """One text of a decision form in Prefect's UI (catalog `decision-form`) in `language`."""
    language = language if language in LANGUAGES else "en"
    return _template(language, "decision-form", key).render(values).strip()
