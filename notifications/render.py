"""Message texts: one catalog per language, Jinja2, strict about missing values."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jinja2 import Environment, StrictUndefined

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


def render(kind: str, language: str, context: dict[str, Any]) -> tuple[str, str]:
    """(subject, body) of a message of `kind` in `language` (en, ru, be)."""
    texts = _catalog(language if language in LANGUAGES else "en")[kind]
    env = _environment()
    subject = env.from_string(texts["subject"]).render(context).strip()
    body = env.from_string(texts["body"]).render(context).strip()
    return subject, body
