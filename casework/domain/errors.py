"""What a change to a case is refused for by the domain's rules: who may decide, and
transitions a case's state does not allow; and the engine's own bounds (security.md rule 13)."""

from __future__ import annotations

from plans.errors import SCREEN_HINT, RehabError, listed, shown


class UnknownStaff(RehabError):
    """A staff id that is not in the staff directory."""

    def __init__(self, staff: str, file: str, known: list[str]) -> None:
        self.staff, self.file = staff, file
        super().__init__(f"unknown staff id {shown(staff)}; staff in {file}: {listed(known)}")


class NotAllowed(RehabError):
    """A staff member who may not take this action on this case (roles, security.md rule 3)."""

    def __init__(self, staff: str, action: str, code: str, who: str) -> None:
        self.staff, self.action, self.code = staff, action, code
        super().__init__(f"{shown(staff)} may not {action} on case {code}: {who} may")


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


class CaseAlreadyActive(RehabError):
    """A launch of a case whose plan is still running."""

    def __init__(self, code: str, state: str) -> None:
        self.code, self.state = code, state
        super().__init__(
            f"case {code} is already {state}: change it with `rehab plan amend`, "
            "or end it before launching it again"
        )


class CaseStillOpen(RehabError):
    """Only an ended case is purged."""

    def __init__(self, code: str, state: str) -> None:
        self.code, self.state = code, state
        super().__init__(
            f"case {code} is {state}: end it first (`rehab consent withdraw {code} "
            "--all`), then purge it"
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


class LinkRefused(RehabError):
    """A partner's link that cannot be used: `why` is `unknown` (not one we signed: altered,
    guessed, another key's), `expired`, `gone` (the case was purged or its step is no longer
    the partner's) or `answered` (the question was answered already)."""

    def __init__(self, why: str, link: object = None) -> None:
        self.why, self.link = why, link  # the link itself, when it was ours (to speak its
        # partner's language)
        super().__init__(f"this link cannot be used: {why}")


class UnknownCloseReason(TransitionRefused):
    """`rehab case close --reason` outside the reasons a case may be closed for."""

    def __init__(self, code: str, reason: str, valid: tuple[str, ...]) -> None:
        self.reason, self.valid = reason, list(valid)
        super().__init__(
            code,
            f"case {code} cannot be closed for --reason {shown(reason)}: the reason is one of "
            f"{', '.join(valid)}; nothing was changed",
        )


class ClosedToRefused(TransitionRefused):
    """`--to` (the organisation a case is transferred to) missing, not wanted, or too long."""

    def __init__(self, code: str, reason: str, why: str) -> None:
        self.reason, self.why = reason, why
        super().__init__(code, f"case {code}, --reason {reason}: --to {why}; nothing was changed")
