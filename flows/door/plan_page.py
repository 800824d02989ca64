"""`/rehab/plans/new`: a plan from a template (case code, start, a partner for each step) or
from a plan file; every problem shown at its field as `rehab plan validate` words it; a
preview that is `rehab plan simulate`'s timeline; then the launch, as hers."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from casework.domain.simulation import simulate
from casework.services import engine, plan_changes
from casework.services.programme import approval_required, predicted_approval
from flows import tending
from flows.door.staff_page import Staff, StaffPages, problem_data, status_of
from flows.prefect.engine_client import LAUNCHER_FOLLOWS_UP
from flows.shown.render import simulation_json
from plans.drafting import draft, template_data, template_names
from plans.errors import RehabError
from plans.loading import load_plan
from plans.model import Plan

log = logging.getLogger(__name__)
HORIZON = timedelta(days=365)
_DRAFT = "<plan from the page>"


class PlanPage:
    """The handlers of `/rehab/plans/new` on one door."""

    def __init__(self, pages: StaffPages) -> None:
        self.pages = pages

    def _form(self, staff: Staff, fields: dict[str, str]) -> dict[str, Any]:
        """What the form shows: templates, the chosen one's steps, the directory's people."""
        app = self.pages.door.app
        directories = self.pages.door.directories()
        templates = app.settings.templates_dir
        chosen = fields.get("template", "")
        steps: list[dict[str, str]] = []
        if chosen in template_names(templates):
            for step in template_data(templates, chosen).get("steps") or []:
                if isinstance(step, dict):
                    sid = str(step.get("id", ""))
                    steps.append(
                        {
                            "id": sid,
                            "title": str(step.get("title", "")),
                            "domain": str(step.get("domain", "")),
                            "partner": fields.get(f"partner.{sid}") or str(step.get("partner", "")),
                        }
                    )
        managers = directories.staff.with_role("case-manager")
        return {
            "templates": template_names(templates),
            "template": chosen,
            "steps": steps,
            "partners": list(directories.partners.partners),
            "managers": managers,
            "case": fields.get("case", ""),
            "start": fields.get("start", ""),
            "manager": fields.get("manager") or (staff.id if staff.id in managers else ""),
            "plan_text": fields.get("plan_text", ""),
        }

    async def show(self, request: Request) -> Response:
        """GET /rehab/plans/new[?template=NAME]."""
        staff = await self.pages.staff(request)
        if isinstance(staff, Response):
            return staff
        # Only the template is taken from a URL: a link must not fill in a plan, a case or
        # personal data for her to launch (and a URL is no place for personal data).
        form = self._form(staff, {"template": request.query_params.get("template", "")})
        return self.pages.answer(
            request, staff, "rehab/new_plan.html", {"form": form}, title="New plan", form=form
        )

    def _text(self, fields: dict[str, str]) -> str:
        """The plan's YAML: the file or text she gave, else the template with her values."""
        if fields.get("plan_file", "").strip():
            return fields["plan_file"]
        if fields.get("plan_text", "").strip():
            return fields["plan_text"]
        partners = {
            k.removeprefix("partner."): v for k, v in fields.items() if k.startswith("partner.")
        }
        return draft(
            self.pages.door.app.settings.templates_dir,
            fields.get("template", ""),
            case=fields.get("case", "").strip(),
            manager=fields.get("manager", "").strip(),
            start=fields.get("start", "").strip() or None,
            partners=partners,
        )

    async def post(self, request: Request) -> Response:
        """POST /rehab/plans/new: `do` = check | preview | launch."""
        staff = await self.pages.staff(request)
        if isinstance(staff, Response):
            return staff
        fields = await self.pages.posted(request, staff)
        if isinstance(fields, Response):
            return fields
        form = self._form(staff, fields)
        do = fields.get("do", "check")
        try:
            text = self._text(fields)
            if fields.get("plan_file") or fields.get("plan_text"):
                form["plan_text"] = text
            plan = load_plan(_DRAFT, self.pages.door.directories(), text=text)
            if do == "launch":
                launched = await self.pages.run(staff, lambda: self._launch(staff, plan))
                return self.pages.done(request, staff, f"/rehab/cases/{launched['case']}", launched)
        except RehabError as exc:
            problem = problem_data(exc)
            return self.pages.answer(
                request,
                staff,
                "rehab/new_plan.html",
                {"form": form, **problem},
                status=status_of(exc),
                title="New plan",
                form=form,
                problem=problem,
                at_field={i["field"]: i["message"] for i in problem["issues"]},
            )
        data: dict[str, Any] = {"form": form, "ok": True, "case": plan.case}
        if do == "preview":
            data["preview"] = self._preview(plan)
        return self.pages.answer(
            request, staff, "rehab/new_plan.html", data, title="New plan", form=form, ok=True,
            preview=data.get("preview"),
        )  # fmt: skip

    def _preview(self, plan: Plan) -> dict[str, Any]:
        directories = self.pages.door.directories()
        return simulation_json(
            simulate(
                plan,
                directories,
                launch_at=self.pages.door.now(),
                horizon=HORIZON,
                approval_required=predicted_approval(directories),
                file=_DRAFT,
            )
        )

    def _launch(self, staff: Staff, plan: Plan) -> dict[str, Any]:
        """Record the plan as hers, then start its run (the clock starts it if this fails)."""
        app = self.pages.door.app
        directories, now = self.pages.door.directories(), self.pages.door.now()
        changed = plan_changes.launch(
            app.store,
            directories,
            plan=plan,
            by=staff.id,
            now=now,
            approval_required=approval_required(
                app.store, directories, engine_default=None, now=now
            ),
            followed_up_by=now + LAUNCHER_FOLLOWS_UP,  # right below
        )
        run_id: str | None = None
        try:
            run_id = tending.new_run(app, changed.code)
        except Exception as exc:  # recorded: the clock starts the run at its next tick
            log.warning(
                "case %s: its run starts at the next tick (%s)", changed.code, type(exc).__name__
            )
            engine.look_again(app.store, code=changed.code, at=now)
        else:
            tending.tend_after_change(app, changed.code)
        return {"case": changed.code, "state": changed.state, "flow_run_id": run_id}
