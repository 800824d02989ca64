"""What a message may say: the case code, the step, times in the recipient's zone, staff and
partner names. Never anything about the person."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from casework.domain.case import Case, check_in_time, miss_streak
from casework.services.lockout import FAILURES_TO_LOCK, LOCK_FOR, WINDOW
from casework.store.tables import OutboxRow
from notifications.render import phrase
from notifications.words import in_language, schedule
from plans.directories import Directories
from plans.durations import format_duration
from plans.model import DEFAULT_TIMEZONE, Step

ABOUT_A_CHECK_IN = frozenset({
    "reminder",
    "check-in-missed",
    "missed-again",
    "missed-not-followed-up",
    "check-in-reported",
    "another-date-asked",
})  # fmt: skip


@dataclass(frozen=True)
class Recipient:
    """Where and how a partner or staff member is reached."""

    urls: list[str]
    language: str
    tz: ZoneInfo | None
    quiet_hours: str | None


def recipient(directories: Directories, address: str) -> Recipient | None:
    """`partner:<id>` or `staff:<id>` resolved in the directories; None if gone."""
    kind, _, rid = address.partition(":")
    if kind == "partner" and rid in directories.partners.partners:
        p = directories.partners.partners[rid]
        return Recipient(
            p.notify, p.language, ZoneInfo(p.timezone) if p.timezone else None, p.quiet_hours
        )
    if kind == "staff" and rid in directories.staff.staff:
        s = directories.staff.staff[rid]
        return Recipient(
            s.notify, s.language, ZoneInfo(s.timezone) if s.timezone else None, s.quiet_hours
        )
    return None


def programme_zone(directories: Directories) -> ZoneInfo:
    """The programme's time zone (the staff directory's, else plans' default)."""
    return ZoneInfo(directories.staff.timezone or DEFAULT_TIMEZONE)


def staff_context(directories: Directories, row: OutboxRow, who: Recipient) -> dict[str, Any]:
    """The values of a message about a staff member rather than a case (a lockout): her staff
    id (the row's `step_id`) and when the lock ends (its `occurrence`), in the reader's zone."""
    until = datetime.fromisoformat(row.occurrence)
    return {
        "staff": row.step_id or "",
        "until": _when(until, who.tz or programme_zone(directories)),
        "failures": FAILURES_TO_LOCK,
        "window_minutes": int(WINDOW.total_seconds() // 60),
        "lock_minutes": int(LOCK_FOR.total_seconds() // 60),
    }


def reminded_check_in(case: Case, row: OutboxRow) -> datetime | None:
    """When the check-in a reminder announces falls; None if that cannot be told."""
    seq = row.occurrence.split("@")[0]
    run = case.steps.get(row.step_id or "")
    if run is None or not seq.isdigit() or run.id not in {s.id for s in case.plan.steps}:
        return None
    return check_in_time(case.plan.step(run.id), run, int(seq))


def _when(at: datetime | None, tz: ZoneInfo) -> str:
    return "" if at is None else f"{at.astimezone(tz):%Y-%m-%d %H:%M} ({tz.key})"


def message_context(
    session: Session | None,
    directories: Directories,
    row: OutboxRow,
    case: Case,
    who: Recipient,
    *,
    step: Step | None,
) -> dict[str, Any]:
    """The values the message templates may use for this outbox row; `step` is the row's
    step as planned (from the revision that last had it, if an amendment removed it)."""
    tz = who.tz or case.plan.tz
    manager = directories.staff.staff.get(case.plan.manager)
    context: dict[str, Any] = {
        "case": case.code,
        "scope": row.occurrence,
        "state": case.state,
        "reason": case.reason or "",
        "step": row.step_id or "",
        "manager": f"{manager.name} ({case.plan.manager})" if manager else case.plan.manager,
    }
    if row.kind == "plan-sent-back":  # its occurrence: `<staff id>@<when>`
        sender = row.occurrence.partition("@")[0]
        known = directories.staff.staff.get(sender)
        context["by"] = f"{known.name} ({sender})" if known else sender
    if step is not None and step.id in case.steps:
        context.update(_step_context(case, step, row, directories, tz, who.language))
    if row.kind == "message-dead":
        assert session is not None, "a message-dead notice is written in a session"
        failed = session.scalars(select(OutboxRow).where(OutboxRow.id == int(row.occurrence))).one()
        context.update(
            failed_kind=failed.kind, failed_recipient=failed.recipient, attempts=failed.attempts
        )
    return in_language(context, who.language)


def _step_context(  # noqa: PLR0917  # the message's parts, each needed
    case: Case, step: Step, row: OutboxRow, directories: Directories, tz: ZoneInfo, language: str
) -> dict[str, Any]:
    run = case.steps[step.id]
    partner = directories.partners.partners.get(step.partner)
    out: dict[str, Any] = {
        "title": step.title,
        "domain": step.domain,
        "partner": partner.name if partner else step.partner,
        "starts": _when(run.started_at, tz),
        "ends": _when(run.started_at + step.duration, tz)
        if run.started_at and step.duration
        else "",
        "schedule": "",
        "at": "",
        "number": "",
        "streak": "",
    }
    if step.check_ins is not None and run.started_at is not None:
        first = check_in_time(step, run, 0)
        every = format_duration(step.check_ins.every)
        out["schedule"] = schedule(every, _when(first, tz), language) if first else ""
    seq_text = row.occurrence.split("@")[0]
    if row.kind in ABOUT_A_CHECK_IN and seq_text.isdigit():
        seq = int(seq_text)
        at = run.check_ins[seq].at if seq < len(run.check_ins) else check_in_time(step, run, seq)
        out.update(at=_when(at, tz), number=seq + 1, streak=miss_streak(run, seq))
        outcome = run.check_ins[seq].outcome if seq < len(run.check_ins) else ""
        if row.kind == "check-in-reported" and outcome in ("attended", "missed"):
            out["reported"] = phrase(language, f"choice-{outcome}")
        if row.kind == "another-date-asked":
            out["wanted"] = row.occurrence.partition("@")[2]
    elif row.kind == "referral-declined":
        out["why"] = phrase(language, f"reason-{row.occurrence}")
    elif row.kind in ("step-overdue", "overdue-escalated") and step.due and run.started_at:
        out["at"] = _when(run.started_at + step.due, tz)
    elif row.kind == "step-rescheduled" and run.started_at:
        out["at"] = _when(check_in_time(step, run, len(run.check_ins)), tz)
    return out
