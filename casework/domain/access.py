"""Who may do what to a case (security.md rule 3): the same rules for the CLI's `--by` and for
the UI's forms, decided here, in pure Python, from the staff directory as it is now.

A case's manager or supervisor acts on it: launch, consent, check-ins, steps, a breach, an
amendment. Only its supervisor approves: the plan, an amendment that adds steps or partners,
a relaunch after a breach. A director may do either on every case. Anyone not in the staff
directory may do nothing.

The case store remembers who manages and supervises a case; the directory says what each of
them is now. A stored supervisor counts only while her role is still supervisor or director:
after a demotion (or removal) the directory's default supervisor takes her place, and with no
default, directors alone decide. A stored manager counts while she is in the directory (every
role may act on a case it manages).
"""

from __future__ import annotations

from typing import Literal

from casework.domain.errors import NotAllowed, UnknownStaff
from plans.directories import Directories

Power = Literal["act", "approve"]
SUPERVISING = frozenset({"supervisor", "director"})  # the roles that may supervise a case


def may_supervise(directories: Directories, staff: str) -> bool:
    """True if `staff` is in the directory now with a role that supervises cases."""
    member = directories.staff.staff.get(staff)
    return member is not None and member.role in SUPERVISING


def supervisor_now(directories: Directories, stored: str) -> str:
    """The case's supervisor as the directory stands now: the stored one while her role allows
    it, else the directory's default supervisor, else "" (directors only)."""
    if stored and may_supervise(directories, stored):
        return stored
    default = directories.staff.default_supervisor
    return default if default and may_supervise(directories, default) else ""


def deciders(directories: Directories, *, power: Power, manager: str, supervisor: str) -> list[str]:
    """Everyone who may use `power` on a case with this (stored) manager and supervisor, in
    the directory's order: what a form's staff list offers."""
    boss = supervisor_now(directories, supervisor)
    named = {manager, boss} if power == "act" else {boss}
    named.discard("")
    return [
        sid
        for sid, member in directories.staff.staff.items()
        if sid in named or member.role == "director"
    ]


def authorize_director(directories: Directories, *, by: str, action: str, code: str) -> None:
    """Refuse `by` unless a director now: only a director orders a case erased."""
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
    """Refuse `by` unless they may use `power` on the case now; `action` names it for the
    message, which names who may (the supervisor the directory gives the case today)."""
    if by not in directories.staff.staff:
        raise UnknownStaff(by, directories.staff_file, list(directories.staff.staff))
    if by in deciders(directories, power=power, manager=manager, supervisor=supervisor):
        return
    boss = supervisor_now(directories, supervisor)
    its_supervisor = f"its supervisor ({boss}) or " if boss else ""
    who = (
        f"its case manager ({manager}), {its_supervisor}a director"
        if power == "act"
        else f"{its_supervisor}a director"
    )
    raise NotAllowed(by, action, code, who)
