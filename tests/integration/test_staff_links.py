"""A staff member's message links to the door, in her language: to the decision's form in
Prefect's UI (`/runs/flow-run/<id>`) when its run is open, else to the case's page
(`/rehab/cases/CODE`)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from casework.services import plan_changes
from casework.store import decisions
from casework.store.db import Store
from notifications.links import PartnerLinks
from notifications.notifier import RecordingNotifier
from notifications.outbox import Policy, send_due
from plans.directories import Directories, StaffDirectory
from plans.model import Plan
from tests.conftest import T0

S = timedelta(seconds=1)
CODE = "BC-LINK-1"
DOOR = "https://door.example/"
RUN = "0b7c3a52-5c1e-4f57-9d55-6a1f7de1c0aa"


@pytest.fixture
def staffed(directories: Directories) -> Directories:
    members = {
        "cm": {"name": "CM", "role": "case-manager", "language": "en", "notify": ["json://cm"]},
        "sup": {"name": "SUP", "role": "supervisor", "language": "be", "notify": ["json://sup"]},
    }
    staff = StaffDirectory.model_validate({"default_supervisor": "sup", "staff": members})
    return Directories(directories.partners, staff)


def launch(store: Store, dirs: Directories) -> None:
    step = {"id": "stay", "domain": "housing", "title": "Shelter", "partner": "brest-crisis-room"}
    plan = Plan.model_validate(
        {"case": CODE, "manager": "cm", "supervisor": "sup", "steps": [step]}
    )
    plan_changes.launch(store, dirs, plan=plan, by="cm", now=T0, approval_required=True)


def sent_to(store: Store, dirs: Directories, url: str) -> list[tuple[str, str]]:
    notifier = RecordingNotifier()
    links = PartnerLinks(DOOR, b"k" * 32)
    send_due(store, dirs, notifier, now=T0 + S, policy=Policy(), links=links)
    return [(subject, body) for to, subject, body in notifier.sent if to == url]


def test_an_approval_request_links_to_its_form_through_the_door_in_her_language(
    store: Store, staffed: Directories
) -> None:
    launch(store, staffed)
    decisions.sync_decisions(store, code=CODE, now=T0)
    decisions.set_decision_run(store, code=CODE, kind="approval", scope="", flow_run_id=RUN)
    [(subject, body)] = sent_to(store, staffed, "json://sup")
    assert "чакае" in subject, "Belarusian, as the staff directory says"
    assert f"https://door.example/runs/flow-run/{RUN}" in body
    assert "rehab " not in body and "--by" not in body


def test_an_approval_request_before_its_form_opens_links_to_the_case_page(
    store: Store, staffed: Directories
) -> None:
    launch(store, staffed)
    [(_, body)] = sent_to(store, staffed, "json://sup")
    assert f"https://door.example/rehab/cases/{CODE}" in body
    assert "/runs/flow-run/" not in body
