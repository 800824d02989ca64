"""Human-readable output: timelines and statuses in the plan's local time."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from casework.domain.simulation import Simulation


def local(at: datetime | str | None, tz: ZoneInfo) -> str:
    """'Tue 2026-12-01 09:00' in `tz`; '-' for None."""
    if at is None:
        return "-"
    moment = datetime.fromisoformat(at) if isinstance(at, str) else at
    return moment.astimezone(tz).strftime("%a %Y-%m-%d %H:%M:%S").removesuffix(":00")


def simulation_text(sim: Simulation) -> str:
    """The timeline as a table: when, step, what happens, who is told."""
    tz = sim.plan.tz
    offset = sim.start.astimezone(tz).strftime("%z")
    lines = [
        f"Plan {sim.plan.case}: times in {sim.plan.timezone} (UTC{offset[:3]}:{offset[3:]})"
        f", starting {local(sim.start, tz)}",
        "Assumes approval and consent at launch and every check-in attended.",
        "",
    ]
    width = max([len(e.step or "") for e in sim.entries] + [4])
    for entry in sim.entries:
        told = "; ".join(
            f"{t.kind} → {t.name}"
            + (f" (held by quiet hours until {local(t.arrives, tz)})" if t.held else "")
            + (" (sent before quiet hours, which last past the check-in)" if t.early else "")
            for t in entry.told
        )
        lines.append(
            f"{local(entry.at, tz):<22} {entry.step or 'plan':<{width}}  {entry.what}"
            + (f"  ⇒ {told}" if told else "")
        )
    if sim.cut_at is not None:
        lines += [
            "",
            f"The timeline stops at {local(sim.cut_at, tz)}: simulate a shorter --horizon.",
        ]
    if sim.open_at_end:
        lines.append("")
        until = local(sim.horizon, tz) if sim.horizon else "the end"
        for step_id, state in sim.open_at_end.items():
            step = next((s for s in sim.plan.steps if s.id == step_id), None)
            why = (
                "stays open until someone completes it (`rehab step complete`)"
                if step is not None and step.open_ended and state == "open"
                else f"still {state} at {until}"
            )
            lines.append(f"{step_id}: {why}")
    return "\n".join(lines)


def simulation_json(sim: Simulation) -> dict[str, Any]:
    """The timeline as data."""
    return {
        "case": sim.plan.case,
        "timezone": sim.plan.timezone,
        "start": sim.start.isoformat(),
        "events": [
            {
                "at": e.at.isoformat(),
                "local": local(e.at, sim.plan.tz),
                "step": e.step,
                "what": e.what,
                "told": [
                    {
                        "kind": t.kind,
                        "recipient": t.recipient,
                        "name": t.name,
                        "arrives": t.arrives.isoformat(),
                        "held_by_quiet_hours": t.held,
                        "sent_before_quiet_hours": t.early,
                    }
                    for t in e.told
                ],
            }
            for e in sim.entries
        ],
        "open_at_end": sim.open_at_end,
        "cut_at": None if sim.cut_at is None else sim.cut_at.isoformat(),
    }


def status_text(status: dict[str, Any], ui_url: str | None) -> str:
    """`rehab plan status` for people."""
    tz = ZoneInfo(status["timezone"])
    lines = [
        f"{status['case']}: {status['state']} (revision {status['revision']}, "
        f"manager {status['manager']}, supervisor {status['supervisor']})"
    ]
    if status.get("reason"):
        lines.append(f"  reason: {status['reason']}")
    if status.get("closed_to"):
        lines.append(f"  transferred to: {status['closed_to']}")
    if status.get("quarantined"):
        q = status["quarantined"]
        lines.append(
            f"  QUARANTINED since {local(q['at'], tz)}: {q['reason']}; the engine does nothing "
            "more for it until `rehab plan amend FILE` fixes its plan"
        )
    if status.get("sent_back"):
        back = status["sent_back"]
        lines.append(
            f"  sent back by {back['by']} {local(back['at'], tz)}: waits for its case manager's "
            "amendment, then for approval again"
        )
    if status.get("imported"):
        lines.append(
            "  imported: it began before rehab and has no plan here; `rehab plan launch FILE` "
            "starts one"
        )
    if status["flow_run_id"]:
        lines.append(
            f"  flow run: {status['flow_run_id']}"
            + (f"  {ui_url}/runs/flow-run/{status['flow_run_id']}" if ui_url else "")
        )
    if status["waiting_consent"]:
        lines.append(f"  waiting for consent: {', '.join(status['waiting_consent'])}")
    if status["wake_at"]:
        lines.append(f"  next wake: {local(status['wake_at'], tz)}")
    for step in status["steps"]:
        missed = sum(1 for c in step["check_ins"] if c["outcome"] == "missed")
        parts = [f"  {step['id']:<22} {step['state']:<16} {step['partner'] or '':<26}"]
        if step.get("next_check_in"):
            parts.append(f"next check-in {local(step['next_check_in'], tz)}")
        if step["check_ins"]:
            parts.append(f"check-ins {len(step['check_ins'])} ({missed} missed)")
        if step["overdue"]:
            parts.append("OVERDUE")
        if step.get("delivered") is False:
            parts.append("NOT DELIVERED (its partner was never told)")
        if step["messages"]:
            parts.append(
                "messages " + ", ".join(f"{k} {v}" for k, v in sorted(step["messages"].items()))
            )
        lines.append("  ".join(parts).rstrip())
    lines += [f"  withdrawn unsent: {w}" for w in withdrawn_lines(status)]
    return "\n".join(lines)


def withdrawn_lines(status: dict[str, Any]) -> list[str]:
    """Each message withdrawn unsent: what, to whom, about which step, and why."""
    return [
        f"{w['kind']} to {w['to']}" + (f" ({w['step']})" if w["step"] else "") + f": {w['why']}"
        for w in status.get("withdrawn", [])
    ]
