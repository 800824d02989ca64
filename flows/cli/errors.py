"""What the `rehab` command refuses of how it was called: a role the command is not for,
an operator's command by someone else, a note on the command line or empty."""

from __future__ import annotations

from pathlib import Path

from plans.errors import RehabError, listed, shown


class WrongRole(RehabError):
    """A staff member without the role this needs."""

    def __init__(self, staff: str, role: str, file: str, holders: list[str]) -> None:
        self.staff, self.role, self.file = staff, role, file
        label = role.replace("-", " ")
        super().__init__(f"{shown(staff)} is not a {label} in {file}; {label}s: {listed(holders)}")


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
