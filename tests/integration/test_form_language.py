"""A decision's form, as the engine opens it in Prefect, is in the language of the person it waits
on (from the staff directory): a consent form in its case manager's, an approval form in its
supervisor's; the form the decision flow shows again after a refused submission keeps it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from casework.services import engine, plan_changes, recording
from casework.store import decisions
from flows import clock, tending
from flows.app import App
from flows.prefect.decision_forms import waiting_form
from flows.prefect.fake import RecordingPrefect
from flows.settings import EXAMPLES, Settings
from notifications.notifier import RecordingNotifier
from plans.model import Plan
from tests.conftest import PaperClock

CODE = "BC-LANG-1"
S = timedelta(seconds=1)


@pytest.fixture
def app(
    store_url: str, tmp_path: Path, prefect: RecordingPrefect, paper: PaperClock
) -> Iterator[App]:
    # The example directory, its supervisor speaking Belarusian; its manager speaks Russian.
    staff = yaml.safe_load((EXAMPLES / "staff.yaml").read_text(encoding="utf-8"))
    staff["staff"]["l-istomova"]["language"] = "be"
    assert staff["staff"]["n-zdolnik"]["language"] == "ru"
    staff_file = tmp_path / "staff.yaml"
    staff_file.write_text(yaml.safe_dump(staff), encoding="utf-8")
    settings = Settings(home=tmp_path, database_url=store_url, staff_file=staff_file)
    opened = App(settings, prefect=prefect, notifier=RecordingNotifier(), clock=paper)
    yield opened
    opened.close()


def launch(app: App) -> None:
    step = {
        "id": "check",
        "domain": "medical",
        "title": "Medical check",
        "partner": "brest-clinic",
        "consent": ["medical"],
    }
    plan = Plan.model_validate({"case": CODE, "manager": "n-zdolnik", "steps": [step]})
    plan_changes.launch(
        app.store, app.directories, plan=plan, by="n-zdolnik", now=app.now(),
        approval_required=True,
    )  # fmt: skip
    run_id = app.prefect.start_plan_run(CODE, 1, [])
    engine.set_flow_run(app.store, code=CODE, flow_run_id=run_id, now=app.now())


def shown(prefect: RecordingPrefect, kind: str, scope: str) -> str:
    form, _ = prefect.forms[f"decision-{CODE}/1/{kind}/{scope or '-'}"]
    return str(form._description)


def test_an_approval_form_is_in_its_supervisors_belarusian_a_consent_form_in_its_managers_russian(
    app: App, prefect: RecordingPrefect, paper: PaperClock
) -> None:
    launch(app)
    clock.tick(app)
    approval = shown(prefect, "approval", "")
    assert approval.startswith(f"## Зацвярджэнне плана {CODE}"), approval
    assert "`check` (медыцынская дапамога), партнёр `brest-clinic`" in approval
    assert "Medical check" not in approval, "step ids only: a title is the plan's, not the form's"

    recording.approve(app.store, app.directories, code=CODE, by="l-istomova", now=app.now())
    paper.at += S
    tending.tend_case(app, CODE)
    consent = shown(prefect, "consent", "medical")
    assert consent.startswith(f"## Согласие на `medical`: случай {CODE}"), consent
    assert "ждут согласия человека на «медицинская помощь»" in consent
    assert "`n-zdolnik`" in consent.split("Кто может решить:")[1]
    form, _ = prefect.forms[f"decision-{CODE}/1/consent/medical"]
    field = form.model_json_schema()["properties"]["decision"]
    assert field["enum"] == ["given", "refused"], "the values the door records, unchanged"
    assert field["description"] == "Что решил человек: given — согласие дано, refused — отказ"


def test_a_form_shown_again_after_a_refused_submission_keeps_its_language(
    app: App, prefect: RecordingPrefect
) -> None:
    launch(app)
    clock.tick(app)
    record = decisions.get_decision(app.store, code=CODE, kind="approval", scope="")
    assert record is not None
    # As the decision flow asks for it after a submission that did not come through the door.
    again, key = waiting_form(app, replace(record, attempts=1))
    assert key == "approval-plan-1"
    assert str(again._description) == shown(prefect, "approval", "")
    assert again.model_json_schema()["properties"]["decision"]["title"] == "Рашэнне"
