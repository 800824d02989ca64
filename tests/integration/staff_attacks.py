"""What the attacks on the staff's pages share: a case launched from a page, made active, given
a person; audit rows read back; a directory changed under an open session."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, select

from casework.store.tables import AuditRow
from flows.app import App
from tests.integration.staff_door import Desk, Desks

CODE, OTHER = "BC-ATK-1", "BC-ATK-2"
NAME = "Alena Test"
ACTIONS = {
    "consent": {"scopes": "medical", "status": "given"},
    "check-in": {"step": "rehab-centre", "outcome": "attended"},
    "complete": {"step": "medical-check"},
    "amend": {"plan_text": "", "do": "check"},
    "note": {"note": "a note"},
    "notes": {"reason": "preparing the check-in"},
    "person": {"name": "Someone Else"},
    "person-show": {"reason": "calling her back"},
    "approve": {},
    "send-back": {"comment": "again"},
    "close": {"reason": "moved-away"},
}


def launch(desk: Desk, code: str = CODE, **fields: str) -> Any:
    form = {"template": "acute-crisis", "case": code, "manager": desk.staff, "do": "launch"}
    answer = desk.post("/rehab/plans/new", {**form, **fields})
    return answer


def launched(desks: Desks, code: str = CODE, manager: str = "n-zdolnik") -> None:
    answer = launch(desks[manager], code)
    assert answer.status_code == 200, answer.text


def active(desks: Desks, code: str = CODE, manager: str = "n-zdolnik") -> None:
    launched(desks, code, manager)
    approved = desks["d-director"].post(f"/rehab/cases/{code}/approve", {})
    assert approved.status_code == 200, approved.text


def rows(app: App, action: str, code: str | None = None) -> list[AuditRow]:
    query = select(AuditRow).where(AuditRow.action == action)
    if code is not None:
        query = query.where(AuditRow.case_code == code)
    with app.store.session() as session:
        return list(session.scalars(query).all())


def audit_count(app: App) -> int:
    with app.store.session() as session:
        return int(session.scalar(select(func.count(AuditRow.id))) or 0)


def with_person(desks: Desks, code: str = CODE) -> None:
    stored = desks["n-zdolnik"].post(
        f"/rehab/cases/{code}/person", {"name": NAME, "contact": "+375 29 555 01 02"}
    )
    assert stored.status_code == 200, stored.text


def directory_changed(app: App, tmp_path: Path, staff: dict[str, Any]) -> None:
    (tmp_path / "staff.yaml").write_text(yaml.safe_dump(staff))
    app.directories  # noqa: B018  # read again now, as the next request would


def since(app: App, first: int) -> list[AuditRow]:
    with app.store.session() as session:
        return list(session.scalars(select(AuditRow).where(AuditRow.id > first)).all())


SCRIPT = '<script>alert("x")</script><img src=x onerror=alert(1)>'
