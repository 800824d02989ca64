"""Reading plan and directory files at the edge: YAML in, strict models out, every issue named."""

from __future__ import annotations

import hashlib
import types
import typing
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from plans.checks import check_plan, check_span
from plans.directories import Directories, PartnerDirectory, StaffDirectory
from plans.errors import SCREEN_HINT, InvalidFile, Issue, shown
from plans.model import Person, Plan
from plans.screening import screen

M = TypeVar("M", bound=BaseModel)
UrlCheck = Callable[[str], str | None]

MAX_FILE_BYTES = 2_000_000  # a plan or a directory is a few KB; a directory of 1,000 partners
MAX_NODES = 200_000  # values after YAML aliases are expanded: far above any real file
PRIVATE = frozenset({"person"})  # fields whose values are never quoted back


_TIMESTAMP = "tag:yaml.org,2002:timestamp"


def _dates_as_text(base: Any) -> Any:
    """`base` with YAML's dates left as text: PyYAML's timestamp constructor raises
    ValueError on a day that does not exist (1990-02-30) while loading, which would abort
    the whole file with no position; as text, the models parse each date, so the error
    lands on its record and field."""
    resolvers = {
        first: [(tag, regexp) for tag, regexp in pairs if tag != _TIMESTAMP]
        for first, pairs in base.yaml_implicit_resolvers.items()
    }
    loader: Any = type(
        f"{base.__name__}DatesAsText", (base,), {"yaml_implicit_resolvers": resolvers}
    )
    loader.add_constructor(_TIMESTAMP, yaml.SafeLoader.construct_yaml_str)
    return loader


# A safe loader on libyaml's parser where it is installed: ten times faster than PyYAML's own
# (a plan in a millisecond), and its nesting bounded (libyaml refuses more than 1,000 levels).
TextDatesLoader = _dates_as_text(getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def too_big(data: Any, limit: int = MAX_NODES) -> bool:
    """True if the data, with every YAML alias expanded, holds more than `limit` values.
    Aliases are shared, not copied, so a few hundred bytes can stand for billions of values
    (an "alias bomb"); this walk stops as soon as it has seen too many."""
    stack, seen = [data], 0
    while stack:
        item = stack.pop()
        seen += 1
        if seen > limit:
            return True
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def format_loc(loc: Iterable[int | str]) -> str:
    """('steps', 2, 'partner') -> 'steps[2].partner'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _model_at(model: type[BaseModel], loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The model class that owns the field at `loc`, following lists and dicts."""
    current: Any = model
    for part in loc:
        while True:  # unwrap list[...], dict[..., ...], X | None down to a model
            origin = typing.get_origin(current)
            if origin in (list, dict, typing.Union, types.UnionType):
                args = [a for a in typing.get_args(current) if a is not type(None)]
                current = args[-1]
                if origin in (list, dict):
                    break
            else:
                break
        if isinstance(part, int) or (
            isinstance(current, type) and not issubclass(current, BaseModel)
        ):
            continue
        if isinstance(current, type) and issubclass(current, BaseModel):
            if part not in current.model_fields:
                continue  # a dict key such as a partner id
            current = current.model_fields[part].annotation
    while typing.get_origin(current) in (list, dict, typing.Union, types.UnionType):
        current = [a for a in typing.get_args(current) if a is not type(None)][-1]
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _message(model: type[BaseModel], error: Any) -> str:
    kind, loc = error["type"], error["loc"]
    # The person's own fields, in a plan's `person` block or the case page's person form.
    private = model is Person or (bool(loc) and loc[0] in PRIVATE)
    value = "this value" if private else shown(error.get("input"))
    field = str(loc[-1]) if loc else ""
    if kind == "missing":
        return "required field missing"
    if kind == "extra_forbidden":
        owner = _model_at(model, tuple(loc[:-1]))
        valid = ", ".join(owner.model_fields) if owner else ""
        return f"unknown field {field!r}" + (f"; valid fields here: {valid}" if valid else "")
    if kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        return f"{value} is not valid; use one of {expected}"
    if kind == "string_pattern_mismatch":
        if field == "case":
            return f"{value} is not a case code: 3-40 of A-Z a-z 0-9 and '-', e.g. BC-2026-0042"
        return f"{value} is not valid: use a-z, 0-9 and '-', e.g. rehab-centre"
    if kind == "value_error":
        # The person's validators (plans/model.py) say what is valid and never quote the value.
        return str(error["msg"]).removeprefix("Value error, ")[:200]
    if private:  # the person's data: say what is wrong with the field, never its value
        return f"not valid here ({kind.replace('_', ' ')})"
    return f"{error['msg']} (got {value})"


def _step_label(raw: Any, loc: tuple[int | str, ...]) -> str:
    """' (step medical-check)' when the path is inside a step whose id can be read."""
    if len(loc) >= 2 and loc[0] == "steps" and isinstance(loc[1], int) and isinstance(raw, dict):
        steps = raw.get("steps")
        if isinstance(steps, list) and loc[1] < len(steps) and isinstance(steps[loc[1]], dict):
            step_id = steps[loc[1]].get("id")
            if isinstance(step_id, str):
                return f" (step {step_id})"
    return ""


def read_text(path: Path | str, name: str | None = None) -> str:
    """The file's text, or InvalidFile (naming it `name`, else its path): missing, too large,
    or not UTF-8."""
    name = str(path) if name is None else name
    try:
        with Path(path).open("rb") as file:
            data = file.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:
            raise InvalidFile(
                [
                    Issue(
                        name,
                        "",
                        f"larger than {MAX_FILE_BYTES:,} bytes: not a plan or directory file",
                    )
                ]
            )
        return data.decode("utf-8")
    except (FileNotFoundError, IsADirectoryError) as exc:
        raise InvalidFile([Issue(name, "", "no such file")]) from exc
    except UnicodeDecodeError as exc:
        raise InvalidFile([Issue(name, "", "not UTF-8 text")]) from exc


def read_yaml(path: Path | str, text: str | None = None) -> dict[str, Any]:
    """The file's top-level mapping, or InvalidFile naming the line that is not YAML."""
    name = str(path)
    try:
        raw = yaml.load(read_text(path) if text is None else text, Loader=TextDatesLoader)  # safe
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else ""
        problem = str(getattr(exc, "problem", None) or type(exc).__name__)[:200]
        raise InvalidFile([Issue(name, where, f"not valid YAML: {problem}")]) from exc
    except RecursionError as exc:  # deeply nested brackets
        raise InvalidFile(
            [Issue(name, "", "nested too deeply to be a plan or directory file")]
        ) from exc
    if too_big(raw):
        raise InvalidFile(
            [
                Issue(
                    name,
                    "",
                    f"expands to more than {MAX_NODES:,} values (YAML "
                    "aliases repeating one another?): not a plan or directory "
                    "file",
                )
            ]
        )
    if not isinstance(raw, dict):
        raise InvalidFile([Issue(name, "", "expected a YAML mapping of fields at the top")])
    return raw


def parse_model(model: type[M], raw: dict[str, Any], file: str) -> tuple[M | None, list[Issue]]:
    """Validate raw YAML data into `model`, turning every pydantic error into an Issue."""
    try:
        return model.model_validate(raw), []
    except ValidationError as exc:
        issues = [
            Issue(file, format_loc(e["loc"]) + _step_label(raw, e["loc"]), _message(model, e))
            for e in exc.errors()
        ]
        return None, issues


def load_partners(
    path: Path | str, url_check: UrlCheck | None = None, text: str | None = None
) -> PartnerDirectory:
    """Read and check the partner directory; url_check refuses unusable notify URLs."""
    model, issues = parse_model(PartnerDirectory, read_yaml(path, text), str(path))
    if model is not None and url_check is not None:
        for pid, partner in model.partners.items():
            for position, url in enumerate(partner.notify):
                problem = url_check(url)
                if problem:
                    issues.append(Issue(str(path), f"partners.{pid}.notify[{position}]", problem))
    if issues or model is None:
        raise InvalidFile(issues)
    return model


def load_staff(
    path: Path | str, url_check: UrlCheck | None = None, text: str | None = None
) -> StaffDirectory:
    """Read and check the staff directory."""
    model, issues = parse_model(StaffDirectory, read_yaml(path, text), str(path))
    if model is not None:
        default = model.default_supervisor
        if default is not None and default not in model.with_role("supervisor"):
            issues.append(
                Issue(
                    str(path),
                    "default_supervisor",
                    f"{default!r} is not a supervisor in staff; supervisors: "
                    f"{', '.join(model.with_role('supervisor')) or 'none'}",
                )
            )
        for sid, member in model.staff.items():
            for position, url in enumerate(member.notify):
                problem = url_check(url) if url_check else None
                if problem:
                    issues.append(Issue(str(path), f"staff.{sid}.notify[{position}]", problem))
    if issues or model is None:
        raise InvalidFile(issues)
    return model


def load_directories(
    partners: Path | str, staff: Path | str, url_check: UrlCheck | None = None
) -> Directories:
    """Both directories, with every issue of both files reported together. Each file is read
    once: what is checked is what its digest (SHA-256 of its text) stands for."""
    issues: list[Issue] = []
    loaded: list[Any] = []
    digests: list[str] = []
    for loader, path in ((load_partners, partners), (load_staff, staff)):
        try:
            text = read_text(path)
            loaded.append(loader(path, url_check, text))
            digests.append(hashlib.sha256(text.encode("utf-8")).hexdigest())
        except InvalidFile as exc:
            issues.extend(exc.issues)
    if issues:
        raise InvalidFile(issues)
    return Directories(loaded[0], loaded[1], str(partners), str(staff), *digests)


def parse_plan(raw: dict[str, Any], file: str, directories: Directories) -> Plan:
    """A plan from raw YAML data, checked on its own and against the directories."""
    plan, issues = parse_model(Plan, raw, file)
    issues += check_plan(raw, file, directories)
    if plan is not None and not issues:  # its `after` is sound: no unknown step, no cycle
        issues += check_span(plan, file)
    if plan is not None:
        issues += [
            Issue(file, path, f"names the person (their name or contact); {SCREEN_HINT}")
            for path in screen(plan, plan.person)
        ]
    if issues or plan is None:
        raise InvalidFile(issues)
    return plan


def load_plan(path: Path | str, directories: Directories, text: str | None = None) -> Plan:
    """Read a plan file and refuse it with every issue found."""
    return parse_plan(read_yaml(path, text), str(path), directories)
