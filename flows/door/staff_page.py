"""What every staff page under /rehab/ shares: she must be signed in; it answers HTML, or JSON
when asked (`Accept: application/json`); a change needs the page's CSRF token and the door's
own origin; it runs through the services as her, each audit row naming her session; nothing
is cached, and no personal data goes in a URL."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import quote
from zoneinfo import ZoneInfo

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from casework.domain.errors import NotAllowed, UnknownStaff
from casework.services.door_access import StaffSession
from casework.store.acting import through_session
from casework.store.errors import CaseNotFound
from flows.door.app import COOKIE, Door
from flows.door.sign_in import _HEADERS, _templates
from flows.door.words import words_for
from plans.errors import InvalidFile, RehabError
from plans.model import DEFAULT_TIMEZONE

T = TypeVar("T")
MAX_FIELD = 200_000  # a plan file is small; a bigger post is no plan
MAX_BODY = 1_000_000  # a plan file and its text, and every other field of a form


@dataclass(frozen=True)
class Staff:
    """The signed-in person a page is for: her session, language and time zone."""

    session: StaffSession
    token: str
    language: str
    zone: ZoneInfo

    @property
    def id(self) -> str:
        """Her staff id."""
        return self.session.staff

    @property
    def role(self) -> str:
        """Her role as the directory says now."""
        return self.session.role


def wants_json(request: Request) -> bool:
    """The caller asked for JSON (scripts, tests), not a page."""
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def status_of(exc: RehabError) -> int:
    """The HTTP status a refused change answers."""
    if isinstance(exc, NotAllowed | UnknownStaff):
        return 403
    if isinstance(exc, CaseNotFound):
        return 404
    return 422


def problem_data(exc: RehabError) -> dict[str, Any]:
    """A refusal as data: its one line, and each field's problem where it names fields."""
    issues = (
        [{"field": i.path, "message": i.message} for i in exc.issues]
        if isinstance(exc, InvalidFile)
        else []
    )
    return {"detail": str(exc), "error": type(exc).__name__, "issues": issues}


class StaffPages:
    """The helpers of the /rehab/ pages of one door."""

    def __init__(self, door: Door) -> None:
        self.door = door

    def csrf(self, staff: Staff) -> str:
        """The token her pages' forms carry: bound to her session, unknowable to another site."""
        key = self.door.app.store.links.secret()
        return hmac.new(key, b"staff-form|" + staff.token.encode(), hashlib.sha256).hexdigest()

    async def staff(self, request: Request) -> Staff | Response:
        """The signed-in person, or the answer that sends her to sign in."""
        token = request.cookies.get(COOKIE)
        who = await self.door.session_of(token)
        if who is None or token is None:
            if wants_json(request) or request.method != "GET":
                return JSONResponse({"detail": "sign in at /sign-in first"}, 401, headers=_HEADERS)
            return RedirectResponse(f"/sign-in?next={quote(request.url.path)}", status_code=303)
        directories = self.door.directories()
        member = directories.staff.staff.get(who.staff)
        zone = (member.timezone if member else None) or directories.staff.timezone
        return Staff(
            who,
            token,
            member.language if member else "en",
            ZoneInfo(zone or DEFAULT_TIMEZONE),
        )

    async def posted(self, request: Request, staff: Staff) -> dict[str, str] | Response:
        """The fields of a change she sent from her own page, or its refusal (audited)."""
        if self.door.cross_site(request):
            return await self.door.refuse(staff.session, request, 403, "refused: another site")
        try:
            fields = await _fields(request)
        except TooBig as exc:  # read no further: a post this big is no form of her pages
            return JSONResponse({"detail": str(exc)}, 413, headers=_HEADERS)
        if fields is None:
            return JSONResponse({"detail": "a JSON object is expected"}, 400, headers=_HEADERS)
        sent = fields.pop("csrf", "") or request.headers.get("x-csrf-token", "")
        if not hmac.compare_digest(sent.encode(), self.csrf(staff).encode()):
            return await self.door.refuse(
                staff.session, request, 403, "refused: this form did not come from her page"
            )
        return fields

    async def run(self, staff: Staff, change: Callable[[], T]) -> T:
        """Do `change` in a worker thread, every audit row it writes naming her session."""

        def as_her() -> T:
            with through_session(staff.session.session):
                return change()

        return await run_in_threadpool(as_her)

    def local(self, staff: Staff, at: str | datetime | None) -> str:
        """A stored UTC time as she reads it: in her zone, to the minute."""
        if at is None:
            return "-"
        when = datetime.fromisoformat(at) if isinstance(at, str) else at
        return when.astimezone(staff.zone).strftime("%Y-%m-%d %H:%M")

    def answer(
        self,
        request: Request,
        staff: Staff,
        template: str,
        data: dict[str, Any],
        *,
        status: int = 200,
        title: str = "",
        **page: Any,
    ) -> Response:
        """The page as HTML, or `data` as JSON; never cached."""
        if wants_json(request):
            return JSONResponse({**data, "csrf": self.csrf(staff)}, status, headers=_HEADERS)
        word = words_for(staff.language)
        body = _templates.get_template(template).render(
            lang=staff.language,
            title=title,
            w=word,
            me=staff,
            csrf=self.csrf(staff),
            local=lambda at: self.local(staff, at),
            data=data,
            **page,
        )
        return HTMLResponse(body, status_code=status, headers=_HEADERS)

    def done(self, request: Request, staff: Staff, target: str, data: dict[str, Any]) -> Response:
        """After a change: JSON says what was done; a browser goes back to the page."""
        if wants_json(request):
            return JSONResponse({**data, "csrf": self.csrf(staff)}, headers=_HEADERS)
        return RedirectResponse(target, status_code=303)


class TooBig(RehabError):
    """A post larger than any form of the staff's pages sends."""


async def _fields(request: Request) -> dict[str, str] | None:
    """The posted fields, from a JSON object or a form (None: JSON, but not an object)."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise TooBig(
                f"refused: a post of more than {MAX_BODY:,} bytes is no form of these pages"
            )
    request._body = bytes(body)  # the form parser reads it from here, not the spent stream
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            data = json.loads(body)
        except ValueError:
            return None
        return {k: _text(v) for k, v in data.items()} if isinstance(data, dict) else None
    try:
        form = await request.form(max_part_size=MAX_FIELD)
    except HTTPException as exc:  # a field over MAX_FIELD
        raise TooBig(f"refused: a field larger than {MAX_FIELD:,} bytes ({exc.detail})") from exc
    fields: dict[str, str] = {}
    for key, value in form.multi_items():
        if isinstance(value, UploadFile):
            raw = await value.read(MAX_FIELD + 1)
            if len(raw) > MAX_FIELD:
                raise TooBig(f"{key}: larger than {MAX_FIELD:,} bytes: not a plan file")
            text = raw.decode("utf-8", "replace")
        else:
            text = value
        fields[key] = f"{fields[key]}\n{text}" if key in fields else text
    return fields


def _text(value: Any) -> str:
    if isinstance(value, list):
        return "\n".join(str(v) for v in value)
    return "" if value is None else str(value)
