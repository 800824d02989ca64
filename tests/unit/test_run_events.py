"""The plan's story as Prefect events: named `rehab.<subject>.<verb>`, about the case, related
to its flow run, ids only, and stored once however often a wake publishes them."""

from __future__ import annotations

from casework.domain.events import ConsentRecorded
from casework.domain.step_events import CheckInMissed, StepStarted
from flows.shown.run_events import event_name, prefect_event
from tests.conftest import T0


def test_event_names_read_as_the_domain_says_them() -> None:
    assert event_name("step-started") == "rehab.step.started"
    assert event_name("check-in-missed") == "rehab.check-in.missed"
    assert event_name("check-in-not-followed-up") == "rehab.check-in.not-followed-up"
    assert event_name(ConsentRecorded(T0, "medical", "refused").kind) == "rehab.consent.refused"


def test_an_event_is_about_the_case_and_related_to_its_run_with_ids_only() -> None:
    event = prefect_event("BC-1", "run-1", CheckInMissed(T0, "psychologist", 2, 1))
    assert event["event"] == "rehab.check-in.missed"
    assert event["resource"]["prefect.resource.id"] == "rehab.case.BC-1"
    assert event["related"] == [
        {
            "prefect.resource.id": "prefect.flow-run.run-1",
            "prefect.resource.role": "flow-run",
            "prefect.resource.name": "BC-1",
        }
    ]
    assert event["payload"] == {
        "case": "BC-1",
        "step": "psychologist",
        "occurrence": 2,
        "streak": 1,
    }
    assert event["occurred"] == T0.isoformat()


def test_the_same_event_gets_the_same_id_and_another_event_another() -> None:
    first = prefect_event("BC-1", "run-1", StepStarted(T0, "medical"))
    assert prefect_event("BC-1", "run-1", StepStarted(T0, "medical"))["id"] == first["id"]
    assert prefect_event("BC-1", "run-1", StepStarted(T0, "legal"))["id"] != first["id"]
