"""What a plan's flow run says in the Prefect UI: its tags (what a supervisor filters runs by)
and its state message (where the plan stands now), computed from the case's domain state.
Pure: no database, no Prefect. Case codes, step ids, domains and staff ids only, never a
person's data (docs/architecture.md, "Tags and state messages")."""

from __future__ import annotations

from datetime import datetime, timedelta

from casework.domain.case import Case, StepProgress, check_in_time, miss_streak, next_wake
from casework.domain.notices import undelivered
from casework.domain.partner_answers import partner_reported
from flows.shown.render import local
from plans.durations import format_duration
from plans.model import Step

ENDING_WITHIN = timedelta(days=7)  # "ending": every step left ends by time alone within this
OPEN_OR_PENDING = frozenset({"pending", "awaiting-consent", "open"})

# Tags the engine owns on a plan's run: refreshed on every wake, the rest (`rehab`) kept.
OWNED = frozenset(
    {
        "plan",
        "living",
        "waiting",
        "attention",
        "overdue",
        "missed",
        "ending",
        "failed",
        "not-delivered",
        "declined",
        "partner-reported",
    }
)
OWNED_PREFIXES = (
    "manager:",
    "supervisor:",
    "domain:",
    "template:",
    "waiting:",
    "ended:",
    "accepted:",
)


def owned(tag: str) -> bool:
    """True for a tag the engine sets and removes; False for others' tags (kept as they are)."""
    return tag in OWNED or tag.startswith(OWNED_PREFIXES)


def retag(current: list[str], wanted: list[str]) -> list[str]:
    """The run's new tags: others' tags as they are, the engine's own replaced by `wanted`."""
    return list(dict.fromkeys([t for t in current if not owned(t)] + wanted))


def missed(run: StepProgress) -> bool:
    """An open step whose latest check-in that has an outcome was missed (miss streak > 0):
    the person has not come since. Recording attended or rescheduled for it, or a later
    check-in attended, clears it; recording it as missed keeps it."""
    if run.state != "open":
        return False
    resolved = [c for c in run.check_ins if c.outcome != "pending"]
    return bool(resolved) and miss_streak(run, resolved[-1].seq) > 0


def step_end(step: Step, run: StepProgress) -> datetime | None:
    """When an open step ends by time alone at the latest (its duration, or its last
    check-in's grace period); None for a step only a person can end."""
    if run.started_at is None:
        return None
    if step.duration is not None:
        return run.started_at + step.duration
    ci = step.check_ins
    if ci is not None and ci.count is not None:
        last = check_in_time(step, run, ci.count - 1)
        return None if last is None else last + ci.grace_period
    return None


def ending(case: Case, now: datetime) -> bool:
    """An active plan whose every step left is open and ends by time alone within
    ENDING_WITHIN: nothing pending, waiting for consent or for an amendment's approval."""
    if case.state != "active" or case.awaiting_amendment_approval:
        return False
    left = [
        (s, case.steps[s.id]) for s in case.plan.steps if case.steps[s.id].state in OPEN_OR_PENDING
    ]
    if not left or any(run.state != "open" for _, run in left):
        return False
    ends = [step_end(step, run) for step, run in left]
    return all(end is not None and end <= now + ENDING_WITHIN for end in ends)


def all_missed(case: Case) -> list[str]:
    """Steps that ended with check-ins, every one of them missed."""
    return [
        sid
        for sid, run in case.steps.items()
        if run.check_ins and all(c.outcome == "missed" for c in run.check_ins)
    ]


def outcome(case: Case) -> str | None:
    """How an ended plan ended: `help-received`, `check-ins-missed` (a step's check-ins were
    all missed), `nothing-delivered` (no step completed), `not-delivered` (every completed
    step's partner was never told), `cancelled` or `terminated`."""
    if not case.ended:
        return None
    if case.state != "completed":
        return case.state
    completed = [sid for sid, run in case.steps.items() if run.state == "completed"]
    if not completed:
        return "nothing-delivered"
    if set(completed) <= set(undelivered(case)):
        return "not-delivered"
    return "check-ins-missed" if all_missed(case) else "help-received"


def case_tags(case: Case, *, supervisor: str, now: datetime) -> list[str]:
    """The tags of the plan's run now: who, which domains are open or pending, and what needs
    someone (see docs/architecture.md for each)."""
    plan = case.plan
    tags = ["plan", f"manager:{plan.manager}", f"supervisor:{supervisor}"]
    if plan.template:
        tags.append(f"template:{plan.template}")
    how = outcome(case)
    if how is not None:
        unheard = how in ("help-received", "check-ins-missed") and undelivered(case)
        return [*tags, f"ended:{how}", *(["not-delivered"] if unheard else [])]
    tags.append("living")
    tags += sorted(
        {f"domain:{s.domain}" for s in plan.steps if case.steps[s.id].state in OPEN_OR_PENDING}
    )
    waiting = []
    if case.state == "awaiting-approval" and case.sent_back_at is not None:
        waiting.append("waiting:amendment")  # sent back: its case manager amends it
    elif case.state == "awaiting-approval" or case.awaiting_amendment_approval:
        waiting.append("waiting:approval")
    if case.waiting_consent:
        waiting.append("waiting:consent")
    attention = []
    if any(run.overdue_level > 0 and run.state == "open" for run in case.steps.values()):
        attention.append("overdue")
    if any(missed(run) for run in case.steps.values()):
        attention.append("missed")
    open_runs = [run for run in case.steps.values() if run.state == "open"]
    if any(run.accepted is False for run in open_runs):
        attention.append("declined")  # the step waits for another partner
    tags += (["waiting", *waiting] if waiting else []) + (
        ["attention", *attention] if attention else []
    )
    tags += sorted(f"accepted:{run.id}" for run in open_runs if run.accepted)
    if any(run.check_ins and partner_reported(run.check_ins[-1].recorded_by) for run in open_runs):
        tags.append("partner-reported")
    if ending(case, now):
        tags.append("ending")
    return tags


def _when(at: datetime, case: Case) -> str:
    return f"{local(at, case.plan.tz)} {case.plan.timezone}"


def _with_cadence(case: Case, step_id: str) -> str:
    """`talk (check-ins every 1w)`, or the step id alone if it has no check-ins."""
    check_ins = case.plan.step(step_id).check_ins
    if check_ins is None:
        return step_id
    return f"{step_id} (check-ins every {format_duration(check_ins.every)})"


def state_message(case: Case, *, supervisor: str) -> str:
    """Where the plan stands now, in one line: waiting for whom, what is late, the next
    check-in in the plan's time zone, or how it ended."""
    how = outcome(case)
    unheard = ", ".join(undelivered(case))
    also = f"; not delivered (its partner was never told): {unheard}" if unheard else ""
    if how is not None and case.state == "completed" and case.reason:  # staff closed it so
        return f"completed: {case.reason}{also}"
    if how == "help-received":
        return f"completed: help received{also}"
    if how == "check-ins-missed":
        missed_all = ", ".join(all_missed(case))
        return f"completed with check-ins missed: every check-in of {missed_all}{also}"
    if how == "not-delivered":
        return f"completed: not delivered, its partner was never told: {unheard}"
    if how == "nothing-delivered":
        return "completed: no step was carried out (all skipped or cancelled)"
    if how is not None:
        return f"{how}: {case.reason or 'ended'}"
    if case.state == "awaiting-approval" and case.sent_back_by is not None:
        return f"sent back by {case.sent_back_by}: waiting for its case manager's amendment"
    if case.state == "awaiting-approval":
        return f"waiting for approval by the supervisor ({supervisor})"
    parts = []
    if case.awaiting_amendment_approval:
        parts.append(f"amendment waiting for approval by the supervisor ({supervisor})")
    if case.waiting_consent:
        parts.append(f"waiting for consent: {', '.join(case.waiting_consent)}")
    overdue = [sid for sid, run in case.steps.items() if run.overdue_level and run.state == "open"]
    if overdue:
        parts.append(f"overdue: {', '.join(overdue)}")
    misses = [sid for sid, run in case.steps.items() if missed(run)]
    if misses:
        parts.append(f"check-in missed: {', '.join(misses)}")
    # The open steps and how often each is checked on, not when next: a message that changed
    # at every check-in would write a new state each time, and the timeline shows the dates.
    opened = [sid for sid, run in case.steps.items() if run.state == "open"]
    if not parts and opened:
        parts.append(f"open: {', '.join(_with_cadence(case, sid) for sid in opened)}")
    elif not parts:
        first = next_wake(case)
        parts.append(
            "waiting for its first step"
            + (f", due {_when(first, case)}" if first is not None else "")
        )
    return "; ".join(parts)


def decision_tags(kind: str, *, manager: str, supervisor: str) -> list[str]:
    """The tags of a decision's run: its kind and the case's people, as its plan's run has
    them, so Prefect's tag filter shows what waits on whom."""
    return [f"decision:{kind}", f"manager:{manager}", f"supervisor:{supervisor}"]


def quarantine_tags(*, manager: str, supervisor: str, template: str | None) -> list[str]:
    """The tags of a plan the engine set aside (casework/services/quarantine.py): `failed` and who,
    from its case row alone (its plan may be what cannot be read)."""
    tags = ["plan", f"manager:{manager}", f"supervisor:{supervisor}"]
    return [*tags, *([f"template:{template}"] if template else []), "living", "failed"]


def quarantine_state_message(reason: str) -> str:
    """The state message of a plan set aside: why, and what brings it back."""
    return f"quarantined: {reason}; no more wakes until its plan is amended (on its case page)"
