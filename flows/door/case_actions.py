"""`POST /rehab/cases/CODE/ACTION`: what a case's staff do on its page, each through the same
services as the CLI (roles checked and refusals audited there), as the signed-in person, each
audit row naming her session; then the plan is tended, as after a command. Notes, reasons and
the person's data come in the request's body, go to the sealed store, and never reach
Prefect, a log or a URL."""

from __future__ import annotations

import difflib
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any, cast

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from casework.domain.case import RECORDED_OUTCOMES, ConsentStatus, RecordedOutcome
from casework.services import notes, plan_changes, recording, send_back
from casework.services import person as person_data
from casework.services.closing import close_case
from casework.services.errors import FieldRefused
from casework.store.db import Store
from flows import tending
from flows.door.case_page import CasePage
from flows.door.sign_in import _HEADERS
from flows.door.staff_page import Staff, problem_data, status_of
from plans.directories import Directories
from plans.errors import InvalidFile, RehabError
from plans.loading import load_plan, parse_model, read_yaml
from plans.model import Person

log = logging.getLogger(__name__)
Fields = dict[str, str]
# What an action answers: what was done, and what the page shows beside the case.
Result = tuple[str, dict[str, Any]]


def _lines(value: str) -> list[str]:
    return [v.strip() for v in value.replace(",", "\n").splitlines() if v.strip()]


def _note(fields: Fields) -> str | None:
    return fields.get("note", "").strip() or None


class CaseActions:
    """The handlers of `POST /rehab/cases/{code}/{action}` on one door."""

    def __init__(self, page: CasePage) -> None:
        self.page = page
        self.pages = page.pages
        self.actions: dict[str, Callable[[Staff, str, Fields], Result]] = {
            "consent": self.consent,
            "check-in": self.check_in,
            "complete": self.complete,
            "amend": self.amend,
            "note": self.note,
            "notes": self.read_notes,
            "person": self.set_person,
            "person-show": self.show_person,
            "approve": self.approve,
            "close": self.close,
            "send-back": self.send_back,
        }

    async def post(self, request: Request) -> Response:
        """Do the action as her; then the page (or JSON) with what it did."""
        staff = await self.pages.staff(request)
        if isinstance(staff, Response):
            return staff
        fields = await self.pages.posted(request, staff)
        if isinstance(fields, Response):
            return fields
        code, name = request.path_params["code"], request.path_params["action"]
        action = self.actions.get(name)
        if action is None:
            known = ", ".join(sorted(self.actions))
            return JSONResponse(
                {"detail": f"no action {name!r}; actions: {known}"}, 404, headers=_HEADERS
            )
        try:
            did, shown = await self.pages.run(staff, lambda: action(staff, code, fields))
        except RehabError as exc:
            problem = problem_data(exc)
            problem["action"] = name
            return await self.page.render(
                request, staff, code, status=status_of(exc), problem=problem, form=fields
            )
        if shown:  # a read, or a check before a change: the page shows it
            return await self.page.render(request, staff, code, did=did, action=name, **shown)
        return self.pages.done(
            request, staff, f"/rehab/cases/{code}?done={name}", {"case": code, "did": did}
        )

    # -- the actions: each runs in a worker thread, as her -------------------------------------

    def _env(self) -> tuple[Store, Directories, datetime]:
        door = self.pages.door
        return door.app.store, door.directories(), door.now()

    def _tend(self, code: str) -> None:
        """Let the plan follow the change (the clock does it if this fails: nothing is lost)."""
        tending.tend_after_change(self.pages.door.app, code)

    def consent(self, staff: Staff, code: str, fields: Fields) -> Result:
        """Consent given, refused or withdrawn for the scopes ticked (or all withdrawn)."""
        store, directories, now = self._env()
        status = fields.get("status", "")
        if status == "withdraw-all":
            recording.withdraw_all(
                store, directories, code=code, by=staff.id, now=now, note=_note(fields)
            )
            self._tend(code)
            return "consent withdrawn for every scope", {}
        if status not in ("given", "refused", "withdrawn"):
            raise FieldRefused("status", "given, refused, withdrawn or withdraw-all")
        scopes = _lines(fields.get("scopes", ""))
        if not scopes:
            raise FieldRefused("scopes", "at least one consent scope")
        recording.record_consent(
            store,
            directories,
            code=code,
            scopes=scopes,
            status=cast(ConsentStatus, status),
            by=staff.id,
            now=now,
            note=_note(fields),
        )
        self._tend(code)
        return f"consent {status} for {', '.join(scopes)}", {}

    def check_in(self, staff: Staff, code: str, fields: Fields) -> Result:
        """A check-in's outcome."""
        store, directories, now = self._env()
        outcome = fields.get("outcome", "")
        if outcome not in RECORDED_OUTCOMES:
            raise FieldRefused("outcome", f"one of {', '.join(RECORDED_OUTCOMES)}")
        step = fields.get("step", "").strip()
        recording.record_check_in(
            store,
            directories,
            code=code,
            step=step,
            outcome=cast(RecordedOutcome, outcome),
            by=staff.id,
            now=now,
            note=_note(fields),
        )
        self._tend(code)
        return f"check-in of {step}: {outcome}", {}

    def complete(self, staff: Staff, code: str, fields: Fields) -> Result:
        """A step done."""
        store, directories, now = self._env()
        step = fields.get("step", "").strip()
        recording.complete_step(
            store, directories, code=code, step=step, by=staff.id, now=now, note=_note(fields)
        )
        self._tend(code)
        return f"step {step} completed", {}

    def amend(self, staff: Staff, code: str, fields: Fields) -> Result:
        """`do=check`: the change shown, nothing stored; `do=store`: the new revision."""
        store, directories, now = self._env()
        text = fields.get("plan_text", "")
        plan = load_plan(f"<amendment of {code}>", directories, text=text)
        if plan.case.casefold() != code.casefold():
            raise FieldRefused("case", f"this case's code, {code}: an amendment is of this case")
        if fields.get("do") != "store":
            before = self.page.view(staff, code)["plan_text"].splitlines()
            diff = list(
                difflib.unified_diff(before, text.splitlines(), "now", "amended", lineterm="")
            )
            return "the change, not stored yet", {"change": diff, "amend_text": text}
        changed = plan_changes.amend(store, directories, plan=plan, by=staff.id, now=now)
        self._tend(changed.code)
        return f"revision {changed.revision} recorded", {}

    def note(self, staff: Staff, code: str, fields: Fields) -> Result:
        """A note, sealed."""
        store, directories, now = self._env()
        notes.write_note(
            store, directories, code=code, text=fields.get("note", ""), by=staff.id, now=now
        )
        return "note written", {}

    def read_notes(self, staff: Staff, code: str, fields: Fields) -> Result:
        """Every note, with her reason audited."""
        store, directories, now = self._env()
        found = notes.read_notes(
            store, directories, code=code, reason=fields.get("reason", ""), by=staff.id, now=now
        )
        shown = [
            {"at": n.at.isoformat(), "by": n.by, "action": n.action, "text": n.text} for n in found
        ]
        return f"{len(shown)} notes read", {"notes": shown}

    def set_person(self, staff: Staff, code: str, fields: Fields) -> Result:
        """The person's data from the form's fields (and any more as YAML), sealed."""
        store, directories, now = self._env()
        raw: dict[str, Any] = {}
        if fields.get("more", "").strip():
            raw.update(read_yaml("<the person form>", fields["more"]))
        for key in ("name", "contact", "gender", "birth_year"):
            if fields.get(key, "").strip():
                raw[key] = fields[key].strip()
        person, issues = parse_model(Person, raw, "<the person form>")
        if person is None:
            raise InvalidFile(issues)
        person_data.store_person(store, directories, code=code, person=person, by=staff.id, now=now)
        return "the person's data sealed", {}

    def show_person(self, staff: Staff, code: str, fields: Fields) -> Result:
        """The person's data, with her reason audited."""
        store, directories, now = self._env()
        person = person_data.show_person(
            store, directories, code=code, reason=fields.get("reason", ""), by=staff.id, now=now
        )
        data = None if person is None else person.model_dump(mode="json", exclude_defaults=True)
        return "the person's data read", {"person": data, "person_read": True}

    def approve(self, staff: Staff, code: str, fields: Fields) -> Result:
        """The plan approved (supervisor or director)."""
        store, directories, now = self._env()
        recording.approve(
            store,
            directories,
            code=code,
            by=staff.id,
            now=now,
            comment=fields.get("comment") or None,
        )
        self._tend(code)
        return "plan approved", {}

    def close(self, staff: Staff, code: str, fields: Fields) -> Result:
        """The case ended for a reason (and, for a transfer, to whom)."""
        store, directories, now = self._env()
        reason = fields.get("reason", "").strip()
        changed = close_case(
            store,
            directories,
            code=code,
            reason=reason,
            to=fields.get("to", "").strip() or None,
            by=staff.id,
            now=now,
            note=_note(fields),
        )
        self._tend(code)
        return f"case closed ({reason}): {changed.state}", {}

    def send_back(self, staff: Staff, code: str, fields: Fields) -> Result:
        """The plan back to its case manager, with her supervisor's comment (sealed)."""
        store, directories, now = self._env()
        send_back.send_back(
            store, directories, code=code, comment=fields.get("comment", ""), by=staff.id, now=now
        )
        self._tend(code)
        return "plan sent back to its case manager", {}
