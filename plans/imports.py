"""The file `rehab case import` reads: a YAML list of cases that began before rehab, each
parsed on its own into a strict record, so one bad record names its position and field and
the others still come in."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationInfo, field_validator

from plans.dates import BoundedDate
from plans.errors import InvalidFile, Issue, RecordIssue
from plans.loading import TextDatesLoader, parse_model, too_big
from plans.model import CaseCode, Person, Slug, Strict

MAX_IMPORT_BYTES = 200_000_000  # some 500,000 records: far above any NGO's history
MAX_IMPORT_NODES = 50_000_000  # values after YAML aliases are expanded (see too_big)
Outcome = Literal["completed", "cancelled", "terminated"]


class ImportedConsent(Strict):
    """A consent decision taken before rehab: scope, given or refused, by whom, on which day."""

    scope: Slug
    given: bool
    by: str
    date: BoundedDate


class ImportRecord(Strict):
    """One case as it stood before rehab. Without `closed_on` it is still open: recorded,
    not launched."""

    case: CaseCode
    manager: str
    identified_on: BoundedDate
    person: Person | None = None
    consents: list[ImportedConsent] = []
    closed_on: BoundedDate | None = None
    outcome: Outcome | None = Field(default=None, validate_default=True)
    rule: Slug | None = Field(default=None, validate_default=True)

    @field_validator("closed_on")
    @classmethod
    def _not_before_identification(cls, value: dt.date | None, info: ValidationInfo) -> Any:
        identified = info.data.get("identified_on")
        if value is not None and identified is not None and value < identified:
            raise ValueError("is before identified_on: a case closes after it began")
        return value

    @field_validator("outcome")
    @classmethod
    def _with_closed_on(cls, value: Outcome | None, info: ValidationInfo) -> Any:
        closed = info.data.get("closed_on")
        if value is None and closed is not None:
            raise ValueError("required with closed_on: completed, cancelled or terminated")
        if value is not None and closed is None and "closed_on" in info.data:
            raise ValueError("given for an open case: add closed_on, or leave outcome out")
        return value

    @field_validator("rule")
    @classmethod
    def _with_terminated(cls, value: str | None, info: ValidationInfo) -> Any:
        outcome = info.data.get("outcome")
        if outcome == "terminated" and value is None:
            raise ValueError("required when the outcome is terminated: the rule broken")
        if value is not None and outcome != "terminated":
            raise ValueError("only for a terminated case (outcome: terminated)")
        return value

    def dates(self) -> list[tuple[str, dt.date]]:
        """Every date of the record with its field path, for the not-in-the-future check."""
        found = [("identified_on", self.identified_on)]
        if self.closed_on is not None:
            found.append(("closed_on", self.closed_on))
        found += [(f"consents[{i}].date", c.date) for i, c in enumerate(self.consents)]
        return found


def read_records(name: str, text: str) -> list[Any]:
    """The file's list of raw records, or InvalidFile saying why it is not one."""
    if len(text) > MAX_IMPORT_BYTES:
        raise InvalidFile([Issue(name, "", f"larger than {MAX_IMPORT_BYTES:,} bytes")])
    try:
        raw = yaml.load(text, Loader=TextDatesLoader)  # a safe loader, C or Python
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else ""
        problem = str(getattr(exc, "problem", None) or type(exc).__name__)[:200]
        raise InvalidFile([Issue(name, where, f"not valid YAML: {problem}")]) from exc
    except RecursionError as exc:
        raise InvalidFile([Issue(name, "", "nested too deeply to be an import file")]) from exc
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise InvalidFile(
            [Issue(name, "", "expected a YAML list of cases (`- case: BC-2011-0007` ...)")]
        )
    if too_big(raw, MAX_IMPORT_NODES):
        raise InvalidFile([Issue(name, "", "expands to too many values (YAML aliases?)")])
    return raw


def parse_record(raw: Any, position: int) -> ImportRecord | list[RecordIssue]:
    """One record, or every reason it is refused, each naming its field (never a personal
    value)."""
    if not isinstance(raw, dict):
        return [RecordIssue(position, "", "expected a mapping of fields (case, manager, ...)")]
    record, issues = parse_model(ImportRecord, raw, f"record {position}")
    if record is None:
        return [RecordIssue(position, i.path, i.message) for i in issues]
    return record
