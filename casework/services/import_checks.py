"""What `rehab case import` checks of each parsed record before anything is written: its staff
against the staff directory as it is now, its dates against the calendar, and its two days of
identification in agreement."""

from __future__ import annotations

from datetime import date

from plans.checks import unknown_scope
from plans.directories import Directories
from plans.errors import RecordIssue, listed, shown
from plans.imports import ImportRecord


def _staff_issues(
    directories: Directories, record: ImportRecord, position: int
) -> list[RecordIssue]:
    staff, file = directories.staff, directories.staff_file
    issues: list[RecordIssue] = []
    managers = staff.with_role("case-manager")
    if record.manager not in staff.staff:
        issues.append(
            RecordIssue(
                position,
                "manager",
                f"unknown staff id {shown(record.manager)}; case managers in {file}: "
                f"{listed(managers)}",
            )
        )
    elif record.manager not in managers:
        issues.append(
            RecordIssue(
                position,
                "manager",
                f"{shown(record.manager)} is a {staff.staff[record.manager].role}, not a "
                f"case manager; case managers: {listed(managers)}",
            )
        )
    known = staff.known_scopes()
    for i, consent in enumerate(record.consents):
        if consent.scope not in known:
            issues.append(
                RecordIssue(
                    position, f"consents[{i}].scope", unknown_scope(consent.scope, directories)
                )
            )
        if consent.by not in staff.staff:
            issues.append(
                RecordIssue(
                    position,
                    f"consents[{i}].by",
                    f"unknown staff id {shown(consent.by)}; staff in {file}: "
                    f"{listed(list(staff.staff))}",
                )
            )
    return issues


def check_record(
    directories: Directories, record: ImportRecord, *, position: int, today: date
) -> list[RecordIssue]:
    """What is wrong with a parsed record against the staff directory and the calendar."""
    issues = _staff_issues(directories, record, position)
    for path, day in record.dates():
        if day > today:
            issues.append(
                RecordIssue(position, path, f"a date in the future (today is {today}): refused")
            )
    person = record.person
    if person is not None and person.identified_on not in (None, record.identified_on):
        issues.append(
            RecordIssue(
                position,
                "person.identified_on",
                "does not agree with identified_on; give one, or both alike",
            )
        )
    return issues


def canonical(record: ImportRecord) -> ImportRecord:
    """The record as stored: the person's identification day filled in from the record's."""
    person = record.person
    if person is not None and person.identified_on is None:
        person = person.model_copy(update={"identified_on": record.identified_on})
    return record.model_copy(update={"person": person})
