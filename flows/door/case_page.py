"""`/rehab/cases/CODE`: where a case stands (its timeline) and the actions the signed-in
person's role allows on it. Her cases only (a director's are all); the page names no one:
the person's data and the notes are shown only in answer to a read with a reason."""

from __future__ import annotations

from typing import Any

import yaml
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from casework.domain.access import deciders
from casework.domain.case import RECORDED_OUTCOMES
from casework.domain.closing import CLOSE_REASONS
from casework.services import send_back
from casework.services.unit_of_work import canonical_code, record_refusal
from casework.store import decisions, queries
from casework.store.errors import CaseNotFound
from casework.store.repository import current_plan, get_case_row, has_plan
from flows.door.sign_in import _HEADERS
from flows.door.staff_page import Staff, StaffPages, problem_data
from plans.errors import RehabError

LIVING = ("awaiting-approval", "active")


class CasePage:
    """The handler of `GET /rehab/cases/CODE` on one door, and the page its actions show."""

    def __init__(self, pages: StaffPages) -> None:
        self.pages = pages

    def view(self, staff: Staff, code: str) -> dict[str, Any]:
        """The case as she may see it, and what she may do; NotYours if it is not hers."""
        store, directories = self.pages.door.app.store, self.pages.door.directories()
        code = canonical_code(store, code)
        with store.session() as session:
            row = get_case_row(session, code=code)
            manager, supervisor = row.manager, row.supervisor
            plan_text = ""
            if has_plan(row):
                plan = current_plan(row).without_person()
                plan_text = yaml.safe_dump(
                    plan.model_dump(mode="json", exclude_defaults=True),
                    sort_keys=False,
                    allow_unicode=True,
                )
            status = queries.status_in(session, row)
        acting = deciders(directories, power="act", manager=manager, supervisor=supervisor)
        approving = deciders(directories, power="approve", manager=manager, supervisor=supervisor)
        if staff.id not in acting:  # a refusal is an audit row, a read's too
            record_refusal(
                store,
                code=code,
                by=staff.id,
                doing="open the case page",
                why="not-her-case",
                now=self.pages.door.now(),
            )
            raise NotYours(staff.id, code)
        living = status["state"] in LIVING
        waiting = [
            {"kind": d.kind, "scope": d.scope, "flow_run_id": d.flow_run_id}
            for d in decisions.waiting(store, code=code)
        ]
        may = {
            "record": living,  # consent, check-ins, steps
            "amend": living,
            "note": True,
            "person": True,
            "close": living,
            "approve": status["state"] == "awaiting-approval"
            and staff.id in approving
            and not status.get("sent_back"),
        }
        sent_back = status.get("sent_back")
        if sent_back and status["state"] == "awaiting-approval":  # why, for whoever amends it
            comment = send_back.sent_back_comment(
                store, directories, code=code, by=staff.id, now=self.pages.door.now()
            )
            sent_back = {**sent_back, "comment": comment}
        return {
            "case": code,
            "sent_back": sent_back,
            "status": status,
            "decisions": waiting,
            "may": may,
            "plan_text": plan_text,
            "scopes": directories.staff.known_scopes(),
            "outcomes": list(RECORDED_OUTCOMES),
            "close_reasons": list(CLOSE_REASONS),
            "open_steps": [s["id"] for s in status["steps"] if s["state"] == "open"],
        }

    async def show(self, request: Request) -> Response:
        """GET /rehab/cases/CODE."""
        staff = await self.pages.staff(request)
        if isinstance(staff, Response):
            return staff
        done = {"request_done": True} if "done" in request.query_params else {}
        return await self.render(request, staff, request.path_params["code"], **done)

    async def render(
        self, request: Request, staff: Staff, code: str, *, status: int = 200, **shown: Any
    ) -> Response:
        """The case page, with what an action answered (`shown`: notes, a problem, ...)."""
        try:
            view = await self.pages.run(staff, lambda: self.view(staff, code))
        except NotYours as exc:
            return JSONResponse({"detail": str(exc)}, 403, headers=_HEADERS)
        except CaseNotFound as exc:
            return JSONResponse({"detail": str(exc)}, 404, headers=_HEADERS)
        except RehabError as exc:
            return JSONResponse(problem_data(exc), 422, headers=_HEADERS)
        data = {**view, **{k: v for k, v in shown.items() if k not in ("problem", "form")}}
        if shown.get("problem"):
            data.update(shown["problem"])
        return self.pages.answer(
            request, staff, "rehab/case.html", data, status=status, title=view["case"], **shown
        )


class NotYours(RehabError):
    """A case the signed-in person neither manages nor supervises (and she is no director)."""

    def __init__(self, staff: str, code: str) -> None:
        self.staff, self.code = staff, code
        super().__init__(f"{staff} may not open case {code}: it is not one of her cases")
