"""The one error module: every user error rehab raises, each a class that builds its message
from the ids it carries (and names the next thing to do), so tests check its fields and
`--json` prints it as data. `plans` is the bottom layer, so every package may raise these."""

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


# --- the directories -------------------------------------------------------------------------


class UnknownStaff(RehabError):
    """A staff id that is not in the staff directory."""

    def __init__(self, staff: str, file: str, known: list[str]) -> None:
        self.staff, self.file = staff, file
        super().__init__(f"unknown staff id {shown(staff)}; staff in {file}: {listed(known)}")


class WrongRole(RehabError):
    """A staff member without the role this needs."""

    def __init__(self, staff: str, role: str, file: str, holders: list[str]) -> None:
        self.staff, self.role, self.file = staff, role, file
        label = role.replace("-", " ")
        super().__init__(f"{shown(staff)} is not a {label} in {file}; {label}s: {listed(holders)}")


class NotAllowed(RehabError):
    """A staff member who may not take this action on this case (roles, security.md rule 3)."""

    def __init__(self, staff: str, action: str, code: str, who: str) -> None:
        self.staff, self.action, self.code = staff, action, code
        super().__init__(f"{shown(staff)} may not {action} on case {code}: {who} may")


class CodeRefused(RehabError):
    """A staff code that is not right now, or was used already: nothing was recorded."""

    def __init__(self, staff: str, why: str) -> None:
        self.staff, self.why = staff, why
        super().__init__(f"the code of {shown(staff)} was refused ({why}); nothing was recorded")


class StaffLocked(CodeRefused):
    """A staff id locked after too many refused codes: even a right one is refused until then."""

    def __init__(self, staff: str, until: str) -> None:
        self.until = until
        super().__init__(
            staff, f"locked after repeated refused codes until {until}; ask a director"
        )


class FormRefused(RehabError):
    """A form was sent with values it cannot hold; nothing was recorded."""

    def __init__(self, code: str, kind: str) -> None:
        self.code, self.kind = code, kind
        super().__init__(
            f"the {kind} form of case {code} was sent with values it cannot hold; nothing "
            "was recorded"
        )


class NotTheOperator(RehabError):
    """The CLI is the operator's tool: run by another OS user than REHAB_HOME's owner."""

    def __init__(self, home: Path, owner: str, user: str) -> None:
        self.home, self.owner, self.user = home, owner, user
        super().__init__(
            f"{home} belongs to {owner}, and rehab acts only as its owner: run it as {owner} "
            f"(you are {user})"
        )


class NoteOnCommandLine(RehabError):
    """A note typed into argv, which every local user sees (`ps`)."""

    def __init__(self, option: str) -> None:
        self.option = option
        super().__init__(
            f"{option} takes no text on the command line (every user of this machine can read "
            f"it there): give `{option} -` and type it on stdin, or let $EDITOR open"
        )


class EmptyNote(RehabError):
    """`--note -` with nothing written."""

    def __init__(self, option: str) -> None:
        self.option = option
        super().__init__(f"{option} -: nothing was written, so nothing was recorded")


SCREEN_HINT = "say what is done, never who for: the person's data lives only in the case store"


class PersonNamed(RehabError):
    """A title, step id, note or reason that names the person (never the value)."""

    def __init__(self, code: str, field: str) -> None:
        self.code, self.field = code, field
        super().__init__(
            f"{field} of case {code} names the person (their name, contact or date of birth); "
            f"{SCREEN_HINT}; nothing was changed"
        )


class ReasonNamesPerson(PersonNamed):
    """A reason for reading the person's data that names them."""

    def __init__(self, code: str) -> None:
        super().__init__(code, "--reason")


class UnknownPartner(RehabError):
    """A partner id that is not in the partner directory."""

    def __init__(self, partner: str, file: str, known: list[str]) -> None:
        self.partner, self.file = partner, file
        super().__init__(f"no partner {shown(partner)} in {file}; partners: {listed(known)}")


# --- cases -----------------------------------------------------------------------------------


class CaseNotFound(RehabError):
    """No case has this code."""

    def __init__(self, code: str) -> None:
        self.code = code
        super().__init__(f"no case {code} in the case store; `rehab plan list` shows the cases")


class AmbiguousCode(RehabError):
    """A code typed in a case that matches several cases stored, from before codes were
    matched whatever the case of their letters, in none of them exactly."""

    def __init__(self, code: str, stored: list[str]) -> None:
        self.code, self.stored = code, stored
        super().__init__(
            f"{shown(code)} matches cases {listed(stored)}, which differ only in the case of "
            "their letters: give the code exactly as one of them is written"
        )


class CasePurged(RehabError):
    """The case was erased: nothing of it opens, and its code is not used again."""

    def __init__(self, code: str, when: str) -> None:
        self.code, self.when = code, when
        super().__init__(
            f"case {code} was purged on {when}: its code is not used again; give "
            "a new case a new code"
        )


class CaseKeyDestroyed(RehabError):
    """The case's data key was destroyed by a purge: no copy of its sealed data opens."""

    def __init__(self, code: str) -> None:
        self.code = code
        super().__init__(
            f"case {code} was purged: its data key is destroyed, so its sealed data opens "
            "nowhere, in this copy of the store or any other"
        )


class CaseStillOpen(RehabError):
    """Only an ended case is purged."""

    def __init__(self, code: str, state: str) -> None:
        self.code, self.state = code, state
        super().__init__(
            f"case {code} is {state}: end it first (`rehab consent withdraw {code} "
            "--all`), then purge it"
        )


class NoPlanYet(RehabError):
    """A case brought in by `rehab case import` has no plan in rehab until one is launched."""

    def __init__(self, code: str, state: str) -> None:
        self.code, self.state = code, state
        super().__init__(
            f"case {code} ({state}) was imported and has no plan in rehab yet: launch one "
            f"for it first (`rehab plan launch FILE` with `case: {code}`)"
        )


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


class CaseAlreadyActive(RehabError):
    """A launch of a case whose plan is still running."""

    def __init__(self, code: str, state: str) -> None:
        self.code, self.state = code, state
        super().__init__(
            f"case {code} is already {state}: change it with `rehab plan amend`, "
            "or end it before launching it again"
        )


class Conflict(RehabError):
    """Someone else changed the case at the same moment; nothing of this change was saved."""

    def __init__(self, code: str) -> None:
        self.code = code
        super().__init__(
            f"case {code} was changed by someone else at the same moment; nothing "
            "of this change was saved: check `rehab plan status` and run it again"
        )


class TransitionRefused(RehabError):
    """A person asked for a change the case's state does not allow."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(message)


class CaseNotInState(TransitionRefused):
    """The case is not in a state that allows this (`doing`)."""

    def __init__(self, code: str, state: str, doing: str) -> None:
        self.state, self.doing = state, doing
        super().__init__(code, f"case {code} is {state}: cannot {doing}")


class NoSuchStep(TransitionRefused):
    """The case's plan has no step with this id."""

    def __init__(self, code: str, step: str, steps: list[str]) -> None:
        self.step = step
        super().__init__(code, f"case {code} has no step {shown(step)}; its steps: {listed(steps)}")


class NoSuchScope(TransitionRefused):
    """The case's plan asks for no consent of this scope."""

    def __init__(self, code: str, scope: str, scopes: list[str]) -> None:
        self.scope = scope
        super().__init__(
            code, f"case {code} has no consent scope {shown(scope)}; its scopes: {listed(scopes)}"
        )


class UnknownScope(NoSuchScope):
    """A consent scope the programme does not know (contract v3): not a domain, not
    `statistics`, not declared under the staff directory's `consent_scopes`."""

    def __init__(self, code: str, scope: str, known: list[str], file: str) -> None:
        self.scope, self.known, self.file = scope, known, file
        TransitionRefused.__init__(
            self,
            code,
            f"case {code}: no consent scope {shown(scope)} is known to the programme; known "
            f"scopes: {listed(known, limit=30)} (a programme declares others under "
            f"consent_scopes in {file}); nothing was recorded",
        )


class NoSuchRule(TransitionRefused):
    """The person did not agree to this programme rule."""

    def __init__(self, code: str, rule: str, rules: list[str]) -> None:
        self.rule = rule
        super().__init__(code, f"case {code} has no rule {shown(rule)}; its rules: {listed(rules)}")


class ConsentNeverGiven(TransitionRefused):
    """Consent that was never given cannot be withdrawn."""

    def __init__(self, code: str, scope: str) -> None:
        self.scope = scope
        super().__init__(
            code,
            f"consent {shown(scope)} of case {code} was never given, so it "
            "cannot be withdrawn; record it as refused instead",
        )


class ConsentNotGiven(TransitionRefused):
    """An amendment would add or change a step that needs a scope the person refused or
    withdrew (security.md rule 6): consent is sovereign."""

    def __init__(self, code: str, step: str, scope: str, status: str) -> None:
        self.step, self.scope, self.status = step, scope, status
        super().__init__(
            code,
            f"step {step} of the amended plan needs consent to {scope!r}, which the person "
            f"{status}: record it anew first (`rehab consent record {code} --scope {scope} "
            "--given`), or leave the step out; nothing was changed",
        )


class NothingToApprove(TransitionRefused):
    """Neither the plan nor an amendment waits for approval."""

    def __init__(self, code: str, state: str) -> None:
        self.state = state
        super().__init__(
            code,
            f"case {code} is {state}, not awaiting approval: neither its plan nor an "
            "amendment waits for one",
        )


class NoCheckIns(TransitionRefused):
    """The step has no check-ins to record."""

    def __init__(self, code: str, step: str) -> None:
        self.step = step
        super().__init__(code, f"step {step} of case {code} has no check-ins")


class NoCheckInWaiting(TransitionRefused):
    """No check-in of the step waits for an outcome."""

    def __init__(self, code: str, step: str) -> None:
        self.step = step
        super().__init__(
            code,
            f"no check-in of step {step} of case {code} is waiting for an "
            "outcome (none is due yet)",
        )


class StepNotOpen(TransitionRefused):
    """Only an open step can be completed."""

    def __init__(self, code: str, step: str, state: str) -> None:
        self.step, self.state = step, state
        super().__init__(code, f"step {step} of case {code} is {state}, not open")


class PlanOfAnotherCase(TransitionRefused):
    """An amendment whose plan names another case."""

    def __init__(self, code: str, plan_case: str) -> None:
        self.plan_case = plan_case
        super().__init__(code, f"the plan is for case {plan_case}, not {code}")


# --- the case store --------------------------------------------------------------------------


class StoreUnavailable(RehabError):
    """The case store's database cannot be reached or opened."""

    def __init__(self, where: str, reason: str) -> None:
        self.where, self.reason = where, reason
        super().__init__(f"cannot open the case store at {where}: {reason}")


class SecretKeyError(RehabError):
    """The secret key is missing, unreadable or not the one the store was sealed with."""

    def __init__(self, key_file: Path, message: str) -> None:
        self.key_file = key_file
        super().__init__(message)


class SecretKeyMissing(SecretKeyError):
    """The store holds sealed data but its key file is gone."""

    def __init__(self, key_file: Path) -> None:
        super().__init__(
            key_file,
            f"the secret key file {key_file} is missing, but this case "
            "store holds data sealed with a key: restore the key file "
            "(REHAB_SECRET_KEY_FILE) from your backup",
        )


class SecretKeyUnreadable(SecretKeyError):
    """The key file cannot be read."""

    def __init__(self, key_file: Path, why: str) -> None:
        self.why = why
        super().__init__(key_file, f"cannot read the secret key file {key_file}: {why}")


class SecretKeyExposed(SecretKeyError):
    """The key file may be read by others than its owner."""

    def __init__(self, key_file: Path, mode: int) -> None:
        self.mode = oct(mode)
        super().__init__(
            key_file,
            f"{key_file} may be read by others (mode {mode:o}): make it "
            f"its owner's alone (`chmod 600 {key_file}`), then run this again",
        )


class HomeExposed(RehabError):
    """REHAB_HOME may be read by others than its owner."""

    def __init__(self, home: Path, mode: int) -> None:
        self.home, self.mode = home, oct(mode)
        super().__init__(
            f"{home} may be read by others (mode {mode:o}): make it its owner's "
            f"alone (`chmod 700 {home}`), then run this again"
        )


class NotASecretKey(SecretKeyError):
    """The key file does not hold a key."""

    def __init__(self, key_file: Path) -> None:
        super().__init__(
            key_file,
            f"{key_file} is not a secret key (expected 32 url-safe "
            "base64-encoded bytes, as `rehab` creates on first use)",
        )


class WrongSecretKey(SecretKeyError):
    """The key is not the one this store (or this record) was sealed with."""

    def __init__(self, key_file: Path, *, record: bool = False) -> None:
        self.record = record
        super().__init__(
            key_file,
            (
                f"the secret key in {key_file} cannot open this record: is REHAB_SECRET_KEY_FILE "
                "the store's key?"
            )
            if record
            else (
                f"the secret key in {key_file} is not the key this case store was sealed with: "
                "point REHAB_SECRET_KEY_FILE at the right key"
            ),
        )


class AuditKeyMissing(SecretKeyError):
    """The audit log is chained under a key on the key mount, and the audit key file is gone."""

    def __init__(self, key_file: Path) -> None:
        super().__init__(
            key_file,
            f"the audit key file {key_file} is missing, but this case store's audit log is "
            "chained under it: restore it from the key mount's backup",
        )


class AuditHeadMissing(SecretKeyError):
    """The audit log is chained under a key, and the chain's head on the key mount is gone."""

    def __init__(self, key_file: Path) -> None:
        super().__init__(
            key_file,
            f"the audit chain's head {key_file} is missing, but this case store's audit log is "
            "chained under a key: restore it from the key mount's backup",
        )


# --- the engine (Prefect) --------------------------------------------------------------------


class EngineUnreachable(RehabError):
    """The Prefect API does not answer; nothing was changed."""

    def __init__(self, url: str) -> None:
        self.url = url
        super().__init__(
            f"the plan engine is not reachable at {url}: start it with `rehab up` "
            "(or set PREFECT_API_URL); nothing was changed"
        )


class EngineRefusedAuth(RehabError):
    """The Prefect API refuses rehab's auth string; nothing was changed. `auth_file` is None
    for a server `rehab up` did not start: it is never sent REHAB_HOME's string."""

    def __init__(self, url: str, auth_file: str | None) -> None:
        self.url, self.auth_file = url, auth_file
        where = (
            f"is {auth_file} (made by `rehab up`) current? restart `rehab up`"
            if auth_file
            else "set PREFECT_API_AUTH_STRING to that server's PREFECT_SERVER_API_AUTH_STRING "
            "(REHAB_HOME's string goes only to the server `rehab up` started)"
        )
        super().__init__(
            f"the Prefect server at {url} refused rehab's auth string: {where}; nothing was changed"
        )


class RunNotCreated(RehabError):
    """The case is recorded but its flow run could not be created (the clock will)."""

    def __init__(self, code: str, cause: str) -> None:
        self.code, self.cause = code, cause
        super().__init__(
            f"case {code} is recorded, but its flow run could not be created "
            f"({cause}); is `rehab up` serving? It will be started as soon as the "
            "engine runs"
        )


class AlreadyUp(RehabError):
    """`rehab up` already runs for this REHAB_HOME."""

    def __init__(self, home: Path, pid: str) -> None:
        self.home, self.pid = home, pid
        super().__init__(
            f"`rehab up` is already running for {home} (pid {pid}); stop it with Ctrl-C there first"
        )


class PortTaken(RehabError):
    """The embedded server's port is in use."""

    def __init__(self, port: int) -> None:
        self.port = port
        super().__init__(
            f"port {port} on 127.0.0.1 is taken: is another Prefect server or "
            "`rehab up` running? Stop it, or set REHAB_PREFECT_PORT or "
            "PREFECT_API_URL"
        )


class ProcessStopped(RehabError):
    """A process `rehab up` runs stopped or never answered; its log says why."""

    def __init__(self, what: str, log: Path, exit_code: int | None = None, when: str = "") -> None:
        self.what, self.log, self.exit_code = what, log, exit_code
        how = (
            f"did not answer {when}"
            if exit_code is None
            else (f"stopped{f' {when}' if when else ''} (exit {exit_code})")
        )
        super().__init__(f"{what} {how}; see {log}")
