"""What the supervisor reads in the Prefect UI: the plan's timeline as markdown, and progress."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from flows.render import local

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


def progress(status: dict[str, Any]) -> float:
    """Percent of the plan's steps that have ended."""
    steps = [s for s in status["steps"] if s["in_current_revision"]]
    done = sum(1 for s in steps if s["state"] in ("completed", "skipped", "cancelled"))
    return round(100.0 * done / len(steps), 1) if steps else 100.0


def plan_markdown(status: dict[str, Any], decisions: list[str]) -> str:
    """The plan's timeline: steps, states, check-ins, what it waits for. Case code only."""
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
        lines += ["**Waiting for a person:** " + ", ".join(decisions), ""]
    if status["wake_at"]:
        lines += [f"Next look: {local(status['wake_at'], tz)}", ""]
    lines += [
        "| | step | domain | partner | state | started | ended | next check-in | "
        "check-ins (missed) | messages |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in status["steps"]:
        missed = sum(1 for c in s["check_ins"] if c["outcome"] == "missed")
        messages = ", ".join(f"{k} {v}" for k, v in sorted(s["messages"].items())) or "-"
        state = s["state"] + (" **overdue**" if s["overdue"] else "")
        lines.append(
            f"| {STATE_MARK.get(s['state'], '')} | `{s['id']}` | {s['domain'] or '-'} | "
            f"`{s['partner'] or '-'}` | {state} | {local(s['started_at'], tz)} | "
            f"{local(s['ended_at'], tz)} | {local(s['next_check_in'], tz)} | "
            f"{len(s['check_ins'])} ({missed}) | {messages} |"
        )
    if status.get("messages"):
        lines += ["", "| to | sent | pending | dead | last delivery |", "|---|---|---|---|---|"]
        for who, counts in sorted(status["messages"].items()):
            lines.append(
                f"| `{who}` | {counts.get('sent', 0)} | "
                f"{counts.get('pending', 0) + counts.get('sending', 0)} | "
                f"{counts.get('dead', 0)} | {local(counts['last_sent'], tz)} |"
            )
    consents = status["consents"]
    if consents:
        lines += [
            "",
            "Consent: " + ", ".join(f"{k}: {v['status']}" for k, v in sorted(consents.items())),
        ]
    return "\n".join(lines)
