"""A plan drafted from a template at a page: the template's YAML with the case code, its
manager, a start and a partner for each step filled in. The draft is then checked like any
plan file (plans/loading.py)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from plans.errors import UnknownTemplate

_NAME = re.compile(r"[a-z0-9-]+")


def template_names(templates: Path) -> list[str]:
    """The templates shipped (or installed) in `templates`, by name."""
    return sorted(p.stem for p in templates.glob("*.yaml"))


def template_data(templates: Path, name: str) -> dict[str, Any]:
    """A template's content; UnknownTemplate naming the ones there are."""
    source = templates / f"{name}.yaml"
    if not _NAME.fullmatch(name) or not source.is_file():
        raise UnknownTemplate(name, template_names(templates))
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else {}


def draft(
    templates: Path,
    name: str,
    *,
    case: str,
    manager: str,
    start: str | None,
    partners: dict[str, str],
) -> str:
    """The template with these values in, as YAML (unchecked: the caller checks it)."""
    data = template_data(templates, name)
    data["template"] = name
    data["case"] = case
    data["manager"] = manager
    if start:
        data["start"] = start
    for step in data.get("steps") or []:
        if isinstance(step, dict) and partners.get(str(step.get("id"))):
            step["partner"] = partners[str(step["id"])]
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
