"""The door's own pages: sign in, sign out, and the invite where she sets her password. Each
form carries a nonce matched against a cookie, so another site cannot post it for her."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from casework.services import door_access, invites, staff_secrets
from casework.services.errors import PasswordRefused
from flows.door.app import COOKIE, Door
from plans.errors import RehabError

FORM_COOKIE = "rehab_form"
_templates = Environment(
    loader=FileSystemLoader(Path(__file__).with_name("templates")),
    autoescape=select_autoescape(["html"]),
)
_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    # Not "no-referrer": with it a browser sends `Origin: null` on the form's POST, which the
    # door must refuse; same-origin still keeps an invite's URL from any other site.
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "form-action 'self'; frame-ancestors 'none'",
}


def safe_next(value: str | None) -> str:
    """Only a path of this door: never another site (an open redirect)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


class Pages:
    """The sign-in, sign-out and invite handlers of one door."""

    def __init__(self, door: Door) -> None:
        self.door = door

    def _page(self, name: str, status: int = 200, **values: Any) -> HTMLResponse:
        """A page with a fresh form nonce (its cookie set beside it)."""
        nonce = secrets.token_urlsafe(16)
        body = _templates.get_template(name).render(lang="en", form_nonce=nonce, **values)
        response = HTMLResponse(body, status_code=status, headers=_HEADERS)
        response.set_cookie(
            FORM_COOKIE,
            nonce,
            httponly=True,
            samesite="strict",
            secure=self.door.config.secure,
            path="/",
        )
        return response

    async def _form(self, request: Request) -> dict[str, str] | None:
        """The posted form's fields, or None if it did not come from the door's own page."""
        form = await request.form()
        fields = {k: str(v) for k, v in form.items() if isinstance(v, str)}
        sent, kept = fields.get("form", ""), request.cookies.get(FORM_COOKIE, "")
        if self.door.cross_site(request) or not kept or not secrets.compare_digest(sent, kept):
            return None
        return fields

    async def sign_in_page(self, request: Request) -> Response:
        """GET /sign-in."""
        done = "Your password is set: sign in." if "password-set" in request.query_params else None
        return self._page(
            "sign_in.html",
            title="Sign in",
            next=safe_next(request.query_params.get("next")),
            staff="",
            problem=None,
            done=done,
        )

    async def sign_in(self, request: Request) -> Response:
        """POST /sign-in: staff, password, code -> 303 with her session cookie."""
        fields = await self._form(request)
        if fields is None:
            return JSONResponse({"detail": "refused: this form did not come from the door"}, 403)
        target, staff = safe_next(fields.get("next")), fields.get("staff", "").strip()
        try:
            token, _ = await run_in_threadpool(
                door_access.sign_in,
                self.door.app.store,
                self.door.directories(),
                staff=staff,
                password=fields.get("password", ""),
                code=fields.get("code", ""),
                now=self.door.now(),
            )
        except RehabError as exc:
            return self._page(
                "sign_in.html",
                401,
                title="Sign in",
                next=target,
                staff=staff,
                problem=str(exc),
                done=None,
            )
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(
            COOKIE,
            token,
            httponly=True,
            samesite="strict",
            secure=self.door.config.secure,
            path="/",
        )
        response.delete_cookie(FORM_COOKIE, path="/")
        return response

    async def sign_out(self, request: Request) -> Response:
        """POST /sign-out: the session ends, in the store too."""
        if self.door.cross_site(request):
            return JSONResponse({"detail": "refused: not from the door"}, 403)
        token = request.cookies.get(COOKIE)
        if token:
            await run_in_threadpool(
                door_access.sign_out, self.door.app.store, token=token, now=self.door.now()
            )
        response = RedirectResponse("/sign-in", status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return response

    async def invite_page(self, request: Request) -> Response:
        """GET /invite/TOKEN: whose invite, and the password field; or why it no longer works."""
        try:
            staff = await run_in_threadpool(
                invites.invited_staff,
                self.door.app.store,
                token=request.path_params["token"],
                now=self.door.now(),
            )
        except RehabError as exc:
            return self._page("invite.html", 410, title="Invite", staff=None, problem=str(exc))
        return self._page(
            "invite.html",
            title="Set your password",
            staff=staff,
            min_length=staff_secrets.MIN_PASSWORD,
            problem=None,
        )

    async def invite_use(self, request: Request) -> Response:
        """POST /invite/TOKEN: set her password, once."""
        fields = await self._form(request)
        if fields is None:
            return JSONResponse({"detail": "refused: this form did not come from the door"}, 403)
        token, store, now = request.path_params["token"], self.door.app.store, self.door.now()
        try:
            await run_in_threadpool(
                invites.set_password,
                store,
                token=token,
                password=fields.get("password", ""),
                now=now,
            )
        except PasswordRefused as exc:
            staff = await run_in_threadpool(invites.invited_staff, store, token=token, now=now)
            return self._page(
                "invite.html",
                400,
                title="Set your password",
                staff=staff,
                min_length=staff_secrets.MIN_PASSWORD,
                problem=str(exc),
            )
        except RehabError as exc:
            return self._page("invite.html", 410, title="Invite", staff=None, problem=str(exc))
        return RedirectResponse("/sign-in?password-set", status_code=303)
