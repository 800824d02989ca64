"""What the supervisor reads in the Prefect UI: the plan's timeline as markdown, and progress."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flows.shown.render import local, withdrawn_lines

STATE_MARK = {
    "pending": "·",
    "awaiting-consent": "⏸",
    "open": "▶",
    "completed": "✔",
    "skipped": "↷",
    "cancelled": "✖",
}


def artifact_key(code: str) -> str:
    """Prefect artifact keys are lowercase letters, digits and dashes."""
    return "plan-" + code.lower()


def shown_keys(code: str) -> list[str]:
    """The keys of the plan run's artifacts: its timeline, then its progress."""
    return [artifact_key(code), f"{artifact_key(code)}-progress"]


def progress(status: dict[str, Any]) -> float:
    """Percent of the plan's steps that have ended."""
    steps = [s for s in status["steps"] if s["in_current_revision"]]
    done = sum(1 for s in steps if s["state"] in ("completed", "skipped", "cancelled"))
    return round(100.0 * done / len(steps), 1) if steps else 100.0


def plan_markdown(status: dict[str, Any], decisions: list[str]) -> str:
    """The plan's timeline: steps, states, check-ins, what it waits for. Case code only.
    Narrow tables (at most five short columns) so it fits a normal window beside the UI's
    side panel: what a step is and where it stands, then when things happened and come."""
    tz = ZoneInfo(status["timezone"])
    lines = [
        f"# {status['case']}: {status['state']}",
        "",
        f"Revision {status['revision']} · manager `{status['manager']}` · supervisor "
        f"`{status['supervisor']}` · times in {status['timezone']}",
        "",
    ]
    if status.get("reason"):
        lines += [f"**Ended:** {status['reason']}", ""]
    if decisions:
        lines += ["**Waiting for a person** (a form in the UI, or the `rehab` command):", ""]
        lines += [f"- {d}" for d in decisions] + [""]
    if status["wake_at"]:
        lines += [f"Next look: {local(status['wake_at'], tz)}", ""]
    lines += ["| | step | domain | partner | state |", "|---|---|---|---|---|"]
    for s in status["steps"]:
        state = s["state"] + (" **overdue**" if s["overdue"] else "")
        state += " **not delivered**" if s.get("delivered") is False else ""
        state += {True: " · accepted", False: " **declined**"}.get(s.get("accepted"), "")
        lines.append(
            f"| {STATE_MARK.get(s['state'], '')} | `{s['id']}` | {s['domain'] or '-'} | "
            f"`{s['partner'] or '-'}` | {state} |"
        )
    lines += [
        "",
        "| step | started | ended | next check-in | check-ins |",
        "|---|---|---|---|---|",
    ]
    for s in status["steps"]:
        missed = sum(1 for c in s["check_ins"] if c["outcome"] == "missed")
        told = sum(1 for c in s["check_ins"] if (c.get("recorded_by") or "").startswith("partner:"))
        by_partner = f", {told} partner-reported" if told else ""
        lines.append(
            f"| `{s['id']}` | {_short(s['started_at'], tz)} | {_short(s['ended_at'], tz)} | "
            f"{_short(s['next_check_in'], tz)} | {len(s['check_ins'])} ({missed} missed"
            f"{by_partner}) |"
        )
    if status.get("messages"):
        lines += ["", "| to | sent | pending | dead | last delivery |", "|---|---|---|---|---|"]
        for who, counts in sorted(status["messages"].items()):
            lines.append(
                f"| `{who}` | {counts.get('sent', 0)} | "
                f"{counts.get('pending', 0) + counts.get('sending', 0)} | "
                f"{counts.get('dead', 0)} | {_short(counts['last_sent'], tz)} |"
            )
    sent = {
        s["id"]: ", ".join(f"{k} {v}" for k, v in sorted(s["messages"].items()))
        for s in status["steps"]
        if s["messages"]
    }
    if sent:
        lines += ["", "| step | messages written |", "|---|---|"]
        lines += [f"| `{step}` | {what} |" for step, what in sent.items()]
    withdrawn = withdrawn_lines(status)
    if withdrawn:
        lines += ["", "**Withdrawn unsent** (what they were about had gone):", ""]
        lines += [f"- {w}" for w in withdrawn]
    consents = status["consents"]
    if consents:
        lines += [
            "",
            "Consent: " + ", ".join(f"{k}: {v['status']}" for k, v in sorted(consents.items())),
        ]
    return "\n".join(lines)


def _short(at: str | None, tz: ZoneInfo) -> str:
    """A time in a table cell: local, to the minute, no weekday (the zone is in the header)."""
    if at is None:
        return "-"
    return datetime.fromisoformat(at).astimezone(tz).strftime("%Y-%m-%d %H:%M")
