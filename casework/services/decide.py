"""Recording a decision taken in its form: one recorder per kind of decision
(casework/domain/decision_kinds), each the same service the CLI uses, so roles are checked and
refusals audited there. The door calls `record` with what the signed-in person sent."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from casework.domain.case import ConsentStatus, RecordedOutcome
from casework.domain.decision_kinds import KINDS, check_in_of
from casework.services import recording, send_back
from casework.services.errors import ValueRefused
from casework.services.unit_of_work import Changed
from casework.store.db import Store
from plans.directories import Directories


@dataclass(frozen=True)
class Taken:
    """A decision as its form was sent: the case, its scope, the form's choice ("" if it asks
    none), who sent it and when, and her comment ("" if none; recorded sealed, never kept in
    Prefect: the door records the form itself)."""

    code: str
    scope: str
    answer: str
    by: str
    now: datetime
    comment: str = ""


COMMENT = "comment"  # the free-text field of a form that has one (the approval's send back)
Recorder = Callable[[Store, Directories, Taken], Changed]


def _approve(store: Store, dirs: Directories, t: Taken) -> Changed:
    # One service approves the plan or its amendment, whichever the case waits for.
    if t.answer == "send-back":
        return send_back.send_back(store, dirs, code=t.code, comment=t.comment, by=t.by, now=t.now)
    return recording.approve(store, dirs, code=t.code, by=t.by, now=t.now)


def _consent(store: Store, dirs: Directories, t: Taken) -> Changed:
    status = cast(ConsentStatus, t.answer)  # one of the kind's choice, checked by `answer`
    return recording.record_consent(
        store, dirs, code=t.code, scopes=[t.scope], status=status, by=t.by, now=t.now
    )


def _check_in(store: Store, dirs: Directories, t: Taken) -> Changed:
    step, number = check_in_of(t.scope)
    outcome = cast(RecordedOutcome, t.answer)  # one of the kind's choice, checked by `answer`
    return recording.record_check_in(
        store, dirs, code=t.code, step=step, seq=number - 1, outcome=outcome, by=t.by, now=t.now
    )


def _complete(store: Store, dirs: Directories, t: Taken) -> Changed:
    return recording.complete_step(store, dirs, code=t.code, step=t.scope, by=t.by, now=t.now)


RECORDERS: dict[str, Recorder] = {
    "approval": _approve,
    "amendment": _approve,
    "consent": _consent,
    "check-in": _check_in,
    "completion": _complete,
}


def answer(code: str, kind: str, values: Mapping[str, Any]) -> str:
    """The form's one choice, checked against what the kind allows ("" if it asks none)."""
    choice = KINDS[kind].choice
    if choice is None:
        return ""
    value = values.get(choice.field, choice.default)
    if value not in choice.values:
        raise ValueRefused(code, kind, choice.field, list(choice.values))
    return str(value)


def record(
    store: Store,
    directories: Directories,
    *,
    code: str,
    kind: str,
    scope: str,
    values: Mapping[str, Any],
    by: str,
    now: datetime,
) -> Changed:
    """Record `by`'s decision from the form's values, as the CLI would; a value outside the
    kind's choice is refused before anything is recorded."""
    comment = values.get(COMMENT)
    text = comment if isinstance(comment, str) else ""
    taken = Taken(code, scope, answer(code, kind, values), by, now, text)
    return RECORDERS[kind](store, directories, taken)
