"""Who may do what to a case (security.md rule 3): the same rules for the CLI's `--by` and for
the UI's forms, decided here, in pure Python.

A case's manager or supervisor acts on it: launch, consent, check-ins, steps, a breach, an
amendment. Only its supervisor approves: the plan, an amendment that adds steps or partners,
a relaunch after a breach. A director may do either on every case. Anyone not in the staff
directory may do nothing.
"""

from __future__ import annotations

from typing import Literal

from plans.directories import Directories
from plans.errors import NotAllowed, UnknownStaff

Power = Literal["act", "approve"]


def deciders(directories: Directories, *, power: Power, manager: str, supervisor: str) -> list[str]:
    """Everyone who may use `power` on a case with this manager and supervisor, in the
    directory's order: what a form's staff list offers."""
    named = {manager, supervisor} if power == "act" else {supervisor}
    return [
        sid
        for sid, member in directories.staff.staff.items()
        if sid in named or member.role == "director"
    ]


def authorize_director(directories: Directories, *, by: str, action: str, code: str) -> None:
    """Refuse `by` unless a director: only a director orders a case erased."""
    if by not in directories.staff.staff:
        raise UnknownStaff(by, directories.staff_file, list(directories.staff.staff))
    if directories.staff.staff[by].role != "director":
        raise NotAllowed(by, action, code, "a director")


def authorize(
    directories: Directories,
    *,
    by: str,
    power: Power,
    action: str,
    code: str,
    manager: str,
    supervisor: str,
) -> None:
    """Refuse `by` unless they may use `power` on the case; `action` names it for the message."""
    if by not in directories.staff.staff:
        raise UnknownStaff(by, directories.staff_file, list(directories.staff.staff))
    if by in deciders(directories, power=power, manager=manager, supervisor=supervisor):
        return
    who = (
        f"its case manager ({manager}), its supervisor ({supervisor}) or a director"
        if power == "act"
        else f"its supervisor ({supervisor}) or a director"
    )
    raise NotAllowed(by, action, code, who)
