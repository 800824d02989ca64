"""What proving who one is refuses: a staff code wrong, replayed or locked out, a form not to
be taken, an invite link or a new password refused, a sign-in at the door refused, a
form's value outside what its decision can be."""

from __future__ import annotations

from plans.errors import RehabError, shown


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


class InviteRefused(RehabError):
    """An invite link that is unknown, used or expired."""

    def __init__(self, why: str) -> None:
        self.why = why
        super().__init__(f"this invite link {why}: ask the operator for a new one")


class PasswordRefused(RehabError):
    """A new password that is too short or too long."""

    def __init__(self, min_chars: int, max_chars: int) -> None:
        self.min_chars, self.max_chars = min_chars, max_chars
        super().__init__(
            f"choose a password of {min_chars} to {max_chars} characters "
            "(a few words you will remember)"
        )


class SignInRefused(RehabError):
    """One answer, whichever part was wrong, so a guess learns nothing."""

    def __init__(self) -> None:
        super().__init__("staff id, password or code not accepted")


class ValueRefused(RehabError):
    """A form value outside what the decision can be."""

    def __init__(self, code: str, kind: str, field: str, valid: list[str]) -> None:
        self.code, self.kind, self.field = code, kind, field
        super().__init__(
            f"the {kind} form of case {code} needs {field}: one of {', '.join(valid)}; "
            "nothing was recorded"
        )


class FieldRefused(RehabError):
    """A value typed into a page (a note, a reason) that cannot be taken as it is."""

    def __init__(self, field: str, expected: str) -> None:
        self.field = field
        super().__init__(f"{field}: needs {expected}; nothing was recorded")


class CommentRequired(RehabError):
    """A plan sent back without a word of why."""

    def __init__(self, code: str) -> None:
        self.code = code
        super().__init__(
            f"comment: say what case {code}'s plan needs before it is approved (required, "
            "non-empty); nothing was recorded"
        )
