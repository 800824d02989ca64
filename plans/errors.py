"""The base of every user error, and the errors of the files and options people give rehab.

Each layer raises its own errors, all under one base, and each is a class that builds its
message from the ids it carries (and names the next thing to do), so tests check its fields and
`--json` prints it as data. The CLI (flows/cli/context.py) and the door map any `RehabError` to
one line and exit 1 (a page, at the door); anything else is a defect and shows as one.

    RehabError                        plans/errors.py: files, options, settings, directories
    ├── InvalidFile, BadOption, UnknownTemplate, OutputRefused, InvalidSettings, ...
    ├── UnknownStaff, NotAllowed,     casework/domain/errors.py: the domain's rules
    │   PersonNamed, CaseStillOpen,
    │   TransitionRefused (NoSuchStep, ConsentNotGiven, ...), WakeTooLarge, CaseQuarantined
    ├── CaseNotFound, CasePurged,     casework/store/errors.py: the case store and its keys
    │   Conflict, StoreUnavailable, SecretKeyError (WrongSecretKey, AuditKeyMissing, ...)
    ├── CodeRefused (StaffLocked),    casework/services/errors.py: proving who one is
    │   FormRefused, InviteRefused, PasswordRefused, SignInRefused, ValueRefused
    ├── EngineUnreachable,            flows/prefect/errors.py: the Prefect side
    │   EngineRefusedAuth, RunNotCreated
    ├── AlreadyUp, PortTaken,         flows/processes/errors.py: `rehab up` and its children
    │   ProcessStopped
    ├── WrongRole, NotTheOperator,    flows/cli/errors.py: how the command was called
    │   NoteOnCommandLine, EmptyNote
    └── NotADecision, AlreadyDecided  flows/door/decide.py: a form at the door

`plans` is the bottom layer, so every package may raise the errors here; a layer's own errors
are raised by it and those above it, never below."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SHOWN_CHARS = 60  # how much of a bad value an error message quotes


def shown(value: Any) -> str:
    """A bad value as an error message may quote it: short, so a huge value cannot flood."""
    text = (
        repr(value)
        if isinstance(value, (str, int, float, bool)) or value is None
        else (f"a {type(value).__name__}")
    )
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 1] + "…"


def listed(ids: list[str] | tuple[str, ...], limit: int = 12) -> str:
    """`a, b, c and 4 more`, or `none`."""
    shown_ids = ", ".join(ids[:limit])
    more = f" and {len(ids) - limit} more" if len(ids) > limit else ""
    return shown_ids + more if ids else "none"


class RehabError(Exception):
    """A user error: the CLI prints its message on one line and exits 1."""

    def as_data(self) -> dict[str, Any]:
        """The error as `--json` prints it: its kind, its message and the ids it carries."""
        kind = re.sub(r"(?<!^)(?=[A-Z])", "-", type(self).__name__).lower()
        fields = {
            k: (str(v) if isinstance(v, Path) else v)
            for k, v in vars(self).items()
            if not k.startswith("_")
        }
        return {"error": kind, "message": str(self), **fields}


# --- files, options and settings -----------------------------------------------------------


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

    def as_data(self) -> dict[str, Any]:
        """Every issue, with its file and field path."""
        return {
            "error": "invalid-file",
            "message": str(self),
            "issues": [vars(i) for i in self.issues],
        }


class BadOption(RehabError):
    """A command-line value that cannot be used."""

    def __init__(self, option: str, value: str, expected: str) -> None:
        self.option, self.value = option, value
        super().__init__(f"{option} {shown(value)} is not {expected}")


class UnknownTemplate(RehabError):
    """No plan template has this name."""

    def __init__(self, template: str, known: list[str]) -> None:
        self.template, self.known = template, known
        super().__init__(f"no template {shown(template)}; templates: {listed(known)}")


class OutputRefused(RehabError):
    """A file a command was asked to write (-o) cannot be made there; nothing was written.
    `why` is one of the reasons below."""

    REASONS = {
        "exists": "already exists: choose another -o FILE or remove it first",
        "dangling-link": "is a symbolic link to nothing: rehab never writes through a link; "
        "choose another -o FILE or remove the link",
        "link": "is a symbolic link: rehab never writes through a link; choose another -o FILE",
        "directory": "is a directory: give a file name inside it, e.g. -o DIR/report.md",
        "no-folder": "is in a folder that does not exist: create it first, or choose another "
        "-o FILE",
        "not-a-folder": "is under something that is not a folder: choose another -o FILE",
        "no-permission": "cannot be written: you may not write in that folder; choose another "
        "-o FILE",
    }

    def __init__(self, path: Path, why: str) -> None:
        self.path, self.why = path, why
        reason = self.REASONS.get(why, f"cannot be written ({why}): choose another -o FILE")
        super().__init__(f"{path} {reason}; nothing was written")


class OutputExists(OutputRefused):
    """A command would write over a file that is there."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, "exists")


class ThresholdTooLow(RehabError):
    """The report's disclosure threshold may be raised, never lowered below the minimum."""

    def __init__(self, threshold: int, minimum: int) -> None:
        self.threshold, self.minimum = threshold, minimum
        super().__init__(
            f"the report's threshold {threshold} is below {minimum}: it may be raised, never "
            f"lowered (REHAB_REPORT_THRESHOLD={minimum} or more)"
        )


class PeriodNotBegun(RehabError):
    """A report for a period that has not begun yet."""

    def __init__(self, period: str) -> None:
        self.period = period
        super().__init__(f"the period {period} has not begun yet: nothing to report")


class InvalidSettings(RehabError):
    """An environment variable holds a value rehab cannot use."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


# --- the directories and what files may say -------------------------------------------------


SCREEN_HINT = "say what is done, never who for: the person's data lives only in the case store"


class UnknownPartner(RehabError):
    """A partner id that is not in the partner directory."""

    def __init__(self, partner: str, file: str, known: list[str]) -> None:
        self.partner, self.file = partner, file
        super().__init__(f"no partner {shown(partner)} in {file}; partners: {listed(known)}")


# --- import files ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordIssue:
    """Why one record of an import file was refused: its position (from 1) and field."""

    record: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"record {self.record}: {self.field}: {self.message}"


class RecordsRefused(RehabError):
    """Some records of an import file were refused (the others were imported)."""

    def __init__(
        self,
        file: str,
        refused: list[RecordIssue],
        *,
        records: int,
        imported: int,
        already_there: int,
    ) -> None:
        self.file, self.refused, self.records = file, refused, records
        self.imported, self.already_there = imported, already_there
        super().__init__(
            f"{file}: {len(refused)} record(s) refused, nothing of them was imported: "
            + "; ".join(str(r) for r in refused[:3])
            + (f"; and {len(refused) - 3} more" if len(refused) > 3 else "")
            + "; fix them and import the file again (what was imported stays as it is)"
        )

    def as_data(self) -> dict[str, Any]:
        """The summary, with every refused record's position, field and why."""
        return {
            "error": "records-refused",
            "message": str(self),
            "file": self.file,
            "records": self.records,
            "imported": self.imported,
            "already_there": self.already_there,
            "refused": [vars(r) for r in self.refused],
        }
