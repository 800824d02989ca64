"""A partner answers through the links in its messages (issue 22): a real case store on SQLite,
the door's ASGI app under Starlette's TestClient, the outbox writing the messages, the Prefect
side a recording fake. A GET never changes anything; a POST with the page's nonce records the
answer once."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from casework.services import engine, plan_changes, recording
from casework.services.purge import purge
from casework.store import queries
from casework.store.partner_tables import PartnerAnswerRow
from casework.store.tables import AuditRow, OutboxRow
from flows.app import App
from flows.door.app import DoorConfig, make_door
from flows.prefect.fake import RecordingPrefect
from flows.settings import Settings
from notifications.notifier import RecordingNotifier
from notifications.outbox import send_due
from plans.model import Plan
from tests.conftest import T0, PaperClock

CODE = "BC-LINK-1"
DOOR = "https://door.example"
LINK = re.compile(r"^(.+): (https://door\.example/p/\S+)$", re.M)
H, D = timedelta(hours=1), timedelta(days=1)


@pytest.fixture
def app(tmp_path: Path, paper: PaperClock, sqlite_template: Path) -> Iterator[App]:
    shutil.copyfile(sqlite_template, tmp_path / "c.db")  # migrated once per session
    settings = Settings(
        home=tmp_path / "home", public_url=DOOR, database_url=f"sqlite:///{tmp_path / 'c.db'}"
    )
    engine = App(settings, prefect=RecordingPrefect(), notifier=RecordingNotifier(), clock=paper)
    yield engine
    engine.close()


@pytest.fixture
def door(app: App) -> Iterator[TestClient]:
    config = DoorConfig(prefect_url="http://127.0.0.1:9", auth_string=None, public_url=DOOR)
    with TestClient(make_door(app, config), base_url=DOOR) as client:
        yield client


def launch(app: App) -> None:
    plan = Plan.model_validate(
        {
            "case": CODE,
            "manager": "n-zdolnik",
            "timezone": "Europe/Minsk",
            "steps": [
                {
                    "id": "talk",
                    "domain": "psychological",
                    "title": "Weekly talk",
                    "partner": "brest-clinic",  # Russian, quiet 20:00-08:00 Minsk
                    "check_ins": {"every": "7d", "remind": ["1d"], "grace": "1d"},
                }
            ],
        }
    )
    plan_changes.launch(
        app.store,
        app.directories,
        plan=plan,
        by="n-zdolnik",
        now=app.now(),
        approval_required=False,
    )
    run_id = app.prefect.start_plan_run(CODE, 1, [])
    engine.set_flow_run(app.store, code=CODE, flow_run_id=run_id, now=app.now())
    engine.reconcile(app.store, code=CODE, now=app.now(), directories=app.directories)


def deliver(app: App) -> list[tuple[str, str, str]]:
    notifier = app.notifier
    assert isinstance(notifier, RecordingNotifier)
    before = len(notifier.sent)
    send_due(
        app.store,
        app.directories,
        notifier,
        now=app.now(),
        policy=app.send_policy,
        links=app.partner_links,
    )
    return notifier.sent[before:]


def links_in(body: str) -> dict[str, str]:
    return {label: url.removeprefix(DOOR) for label, url in LINK.findall(body)}


def counts(app: App) -> tuple[int, int]:
    with app.store.session() as session:
        answers = session.scalar(select(func.count()).select_from(PartnerAnswerRow)) or 0
        audits = session.scalar(select(func.count()).select_from(AuditRow)) or 0
    return answers, audits


def nonce(page: str) -> str:
    found = re.search(r'name="nonce" value="([0-9a-f]+)"', page)
    assert found, page
    return found.group(1)


def step(app: App) -> dict[str, object]:
    status = queries.case_status(app.store, code=CODE)
    found: dict[str, object] = status["steps"][0]
    return found


def to_staff(app: App, kind: str) -> list[str]:
    with app.store.session() as session:
        rows = session.scalars(select(OutboxRow).where(OutboxRow.kind == kind)).all()
        return sorted(r.recipient for r in rows)


@pytest.fixture
def referral(app: App, paper: PaperClock) -> dict[str, str]:
    paper.at = T0 + 3 * H  # 09:00 in Minsk: outside the clinic's quiet hours
    launch(app)
    sent = deliver(app)
    [(_, subject, body)] = [m for m in sent if m[1].startswith("Направление")]
    assert CODE in subject
    return links_in(body)


def test_a_referral_carries_accept_and_decline_in_the_partners_language(
    referral: dict[str, str],
) -> None:
    assert list(referral) == ["Принять направление", "Отклонить направление"]
    assert all(url.startswith("/p/") for url in referral.values())


def test_a_get_of_every_link_records_nothing(
    app: App, door: TestClient, referral: dict[str, str], paper: PaperClock
) -> None:
    before = counts(app)
    for url in referral.values():
        page = door.get(url)
        assert page.status_code == 200 and CODE in page.text
        assert "Weekly talk" in page.text and "width=device-width" in page.text
        assert door.head(url).status_code == 200
    paper.at += 8 * D
    engine.reconcile(app.store, code=CODE, now=app.now(), directories=app.directories)
    for _, _, body in deliver(app):
        for url in links_in(body).values():
            assert door.get(url).status_code == 200
    assert counts(app)[0] == before[0] == 0
    assert step(app)["accepted"] is None


def test_accept_is_recorded_once_and_shown_on_the_step(
    app: App, door: TestClient, referral: dict[str, str]
) -> None:
    url, declined = referral["Принять направление"], referral["Отклонить направление"]
    form = {"nonce": nonce(door.get(url).text)}
    decline_form = {"nonce": nonce(door.get(declined).text), "reason": "other"}
    done = door.post(url, data=form)
    assert done.status_code == 200 and "Записано" in done.text
    assert step(app)["accepted"] is True
    again = door.post(url, data=form)
    assert again.status_code == 409 and "уже ответили" in again.text
    assert "уже ответили" in door.get(declined).text
    assert door.post(declined, data=decline_form).status_code == 409
    assert step(app)["accepted"] is True and counts(app)[0] == 1
    tags = app.prefect.tags  # type: ignore[attr-defined]  # the recording fake's
    assert any("accepted:talk" in t for t in tags.values())


def test_a_post_without_the_pages_nonce_or_from_another_site_changes_nothing(
    app: App, door: TestClient, referral: dict[str, str]
) -> None:
    url = referral["Принять направление"]
    assert door.post(url, data={}).status_code == 400
    assert door.post(url, data={"nonce": "0" * 32}).status_code == 400
    good = nonce(door.get(url).text)
    other = door.post(url, data={"nonce": good}, headers={"origin": "https://evil.example"})
    assert other.status_code == 400
    assert counts(app)[0] == 0 and step(app)["accepted"] is None


def test_decline_tells_the_manager_and_the_supervisor_and_the_step_waits(
    app: App, door: TestClient, referral: dict[str, str]
) -> None:
    url = referral["Отклонить направление"]
    page = door.get(url).text
    assert "Нет возможности принять" in page
    assert door.post(url, data={"nonce": nonce(page)}).status_code == 400  # no reason
    assert door.post(url, data={"nonce": nonce(page), "reason": "no-capacity"}).status_code == 200
    assert step(app)["accepted"] is False and step(app)["state"] == "open"
    assert to_staff(app, "referral-declined") == ["staff:l-istomova", "staff:n-zdolnik"]


def reminder(app: App, paper: PaperClock, *, days: int) -> dict[str, str]:
    """Move to `days` after the start, wake, and return the reminder's links."""
    paper.at = T0 + 3 * H + days * D - 23 * H  # the reminder (a day before) is due by now
    engine.reconcile(app.store, code=CODE, now=app.now(), directories=app.directories)
    sent = [m for m in deliver(app) if m[1].startswith("Напоминание")]
    assert sent, "no reminder went"
    return links_in(sent[-1][2])


def test_attended_is_recorded_by_the_partner_and_a_second_use_changes_nothing(
    app: App, door: TestClient, referral: dict[str, str], paper: PaperClock
) -> None:
    links = reminder(app, paper, days=7)
    assert list(links) == ["Человек пришёл", "Человек не пришёл", "Попросить другую дату"]
    attended = links["Человек пришёл"]
    early = door.get(attended)
    assert "после встречи" in early.text and 'name="nonce"' not in early.text
    paper.at += 24 * H  # the check-in has come
    form = {"nonce": nonce(door.get(attended).text)}
    assert door.post(attended, data=form).status_code == 200
    check_in = step(app)["check_ins"][0]  # type: ignore[index]
    assert check_in == {
        "at": check_in["at"],
        "outcome": "attended",
        "recorded_by": "partner:brest-clinic",
    }
    before = counts(app)
    assert door.post(attended, data=form).status_code == 409
    assert door.post(links["Человек не пришёл"], data=form).status_code == 409
    assert counts(app) == before
    assert to_staff(app, "check-in-reported") == ["staff:n-zdolnik"]
    # The case manager may correct it within the grace period.
    recording.record_check_in(
        app.store, app.directories, code=CODE, step="talk", outcome="missed", by="n-zdolnik",
        now=app.now(),
    )  # fmt: skip
    assert step(app)["check_ins"][0]["recorded_by"] == "n-zdolnik"  # type: ignore[index]


def test_did_not_come_starts_the_missed_check_in_follow_up(
    app: App, door: TestClient, referral: dict[str, str], paper: PaperClock
) -> None:
    links = reminder(app, paper, days=7)
    paper.at += 24 * H
    url = links["Человек не пришёл"]
    assert door.post(url, data={"nonce": nonce(door.get(url).text)}).status_code == 200
    assert step(app)["check_ins"][0]["outcome"] == "missed"  # type: ignore[index]
    assert to_staff(app, "check-in-missed") == ["staff:n-zdolnik"]
    paper.at += 3 * D  # nobody followed it up: the supervisor hears, as for any miss
    engine.reconcile(app.store, code=CODE, now=app.now(), directories=app.directories)
    assert to_staff(app, "missed-not-followed-up") == ["staff:l-istomova"]


def test_another_date_tells_the_manager_and_moves_nothing(
    app: App, door: TestClient, referral: dict[str, str], paper: PaperClock
) -> None:
    links = reminder(app, paper, days=7)
    url = links["Попросить другую дату"]
    page = door.get(url).text  # asked before the check-in: that is when it is useful
    assert door.post(url, data={"nonce": nonce(page), "wanted": "bad"}).status_code == 400
    done = door.post(url, data={"nonce": nonce(page), "wanted": "2026-12-10"})
    assert done.status_code == 200
    assert to_staff(app, "another-date-asked") == ["staff:n-zdolnik"]
    paper.at += 24 * H
    assert step(app)["check_ins"] == [] or step(app)["check_ins"][0]["outcome"] == "pending"  # type: ignore[index]
    assert 'name="nonce"' in door.get(links["Человек пришёл"]).text  # still to report


def test_after_a_purge_every_link_says_no_longer_available_and_nothing_else(
    app: App, door: TestClient, referral: dict[str, str], paper: PaperClock
) -> None:
    recording.withdraw_all(
        app.store, app.directories, code=CODE, by="n-zdolnik", now=app.now(), note=None
    )
    purge(app.store, None, code=CODE, reason="erasure", by="retention", now=app.now())
    for url in referral.values():
        for page in (door.get(url), door.post(url, data={"nonce": "x"})):
            assert "больше не действует" in page.text or "no longer available" in page.text
            assert CODE not in page.text and "Weekly talk" not in page.text


def test_unknown_and_expired_links_say_so_plainly(
    door: TestClient, referral: dict[str, str], paper: PaperClock
) -> None:
    url = referral["Принять направление"]
    assert "not valid" in door.get(url[:-3] + "abc").text
    paper.at += timedelta(days=15)
    page = door.get(url)
    assert "истёк" in page.text and CODE not in page.text


def test_a_burst_to_the_links_is_limited_per_address_and_the_door_goes_on(
    door: TestClient, referral: dict[str, str]
) -> None:
    url = referral["Принять направление"]
    codes = [door.get(url).status_code for _ in range(40)]
    assert codes[0] == 200 and codes[-1] == 429
    assert door.get("/health").status_code == 200


def test_a_referral_left_unanswered_tells_the_manager_once(
    app: App, door: TestClient, referral: dict[str, str], paper: PaperClock
) -> None:
    wake = queries.case_status(app.store, code=CODE)["wake_at"]
    assert wake is not None and wake <= (T0 + 3 * H + 3 * D).isoformat()  # the clock comes then
    paper.at = T0 + 3 * H + 3 * D - timedelta(minutes=1)
    engine.reconcile(app.store, code=CODE, now=app.now(), directories=app.directories)
    assert to_staff(app, "referral-unanswered") == []
    for _ in range(2):
        paper.at += 2 * H
        engine.reconcile(app.store, code=CODE, now=app.now(), directories=app.directories)
    assert to_staff(app, "referral-unanswered") == ["staff:n-zdolnik"]
    [(_, subject, _)] = [m for m in deliver(app) if "Нет ответа" in m[1]]
    assert CODE in subject


def test_an_answered_referral_is_never_chased(
    app: App, door: TestClient, referral: dict[str, str], paper: PaperClock
) -> None:
    url = referral["Принять направление"]
    door.post(url, data={"nonce": nonce(door.get(url).text)})
    paper.at += 10 * D
    engine.reconcile(app.store, code=CODE, now=app.now(), directories=app.directories)
    assert to_staff(app, "referral-unanswered") == []


def test_a_link_sent_with_another_method_is_refused_and_its_token_kept_nowhere(
    app: App, door: TestClient, referral: dict[str, str]
) -> None:
    url = referral["Принять направление"]
    token = url.removeprefix("/p/")
    assert door.put(url, content=b"{}").status_code == 401
    with app.store.session() as session:
        kept = [str(r.detail) for r in session.scalars(select(AuditRow))]
    assert any("a partner's link" in d for d in kept)
    assert not any(token[:40] in d for d in kept)
