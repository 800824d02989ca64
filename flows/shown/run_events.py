"""What happened to a plan as Prefect events (`rehab.step.started`, `rehab.check-in.missed`,
...), about the case and related to the plan's flow run, so the Event Feed tells the story and
automations can trigger on it. Ids, numbers and fixed reasons only, as the domain's events
carry (casework/domain/events.py)."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid5

from casework.domain.events import Event

NAMESPACE = UUID("8a1c3f0e-4b8e-4d55-9d0f-2f5a6b7c8d90")  # makes an event's id from its facts
SUBJECTS = ("check-in", "step", "plan", "consent", "approval", "amendment")


def event_name(kind: str) -> str:
    """`step-started` → `rehab.step.started`; `check-in-missed` → `rehab.check-in.missed`;
    `check-in-not-followed-up` → `rehab.check-in.not-followed-up`."""
    for subject in SUBJECTS:
        if kind.startswith(f"{subject}-"):
            return f"rehab.{subject}.{kind.removeprefix(f'{subject}-')}"
    return f"rehab.{kind}"


def prefect_event(code: str, flow_run_id: str, event: Event) -> dict[str, Any]:
    """The event as Prefect's API takes it. Its id follows from what happened, so an event
    published twice (a retried wake) is stored once."""
    facts = {"case": code, **event.facts()}
    identity = f"{code}|{flow_run_id}|{event.kind}|{event.at.isoformat()}|{sorted(facts.items())}"
    return {
        "id": str(uuid5(NAMESPACE, identity)),
        "occurred": event.at.isoformat(),
        "event": event_name(event.kind),
        "resource": {"prefect.resource.id": f"rehab.case.{code}", "prefect.resource.name": code},
        "related": [
            {
                "prefect.resource.id": f"prefect.flow-run.{flow_run_id}",
                "prefect.resource.role": "flow-run",
                "prefect.resource.name": code,
            }
        ],
        "payload": facts,
    }
