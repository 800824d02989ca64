"""Errors of the engine's own bounds (security.md rule 13), beside `plans/errors.py`: a case
the engine cannot tend is quarantined, and these say why, in case codes and step ids only."""

from __future__ import annotations

from plans.errors import RehabError


class WakeTooLarge(RehabError):
    """One wake of the case would create more check-ins than the engine makes at once."""

    def __init__(self, code: str, step: str, limit: int, every: str) -> None:
        self.code, self.step, self.limit, self.every = code, step, limit, every
        super().__init__(
            f"case {code}: one wake would create more than {limit} check-ins of step {step} "
            f"(check_ins.every {every}); give it a longer `every` and `rehab plan amend` it"
        )


class CaseQuarantined(RehabError):
    """The engine does no more of the case's work until a person fixes its plan."""

    def __init__(self, code: str, reason: str) -> None:
        self.code, self.reason = code, reason
        super().__init__(
            f"case {code} is quarantined: {reason}; the engine tends it again once "
            "`rehab plan amend FILE` gives it a plan it can tend"
        )
