"""The door (security.md rule 1): the one web address for people. Staff sign in as themselves;
Prefect's UI and API are behind it, read-only for them, except a decision form she may decide,
which the door records itself. Prefect's auth string stays here and is never shown."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from casework import door_access
from casework.door_access import StaffSession
from casework.store.repository import audit
from flows.app import App
from flows.door import decide, policy
from flows.door.proxy import Upstream
from plans.errors import NotAllowed, RehabError

COOKIE = "rehab_session"
FORM_COOKIE = "rehab_form"
_templates = Environment(
    loader=FileSystemLoader(Path(__file__).with_name("templates")),
    autoescape=select_autoescape(["html"]),
)


@dataclass(frozen=True)
class DoorConfig:
    """Where Prefect is, its auth string, and the door's own public address."""

    prefect_url: str  # e.g. http://127.0.0.1:4209 (no /api)
    auth_string: str | None
    public_url: str  # e.g. https://rehab.ngo.example or http://127.0.0.1:4200

    @property
    def secure(self) -> bool:
        """Cookies only over TLS when people reach the door over TLS."""
        return self.public_url.startswith("https://")

    @property
    def origin(self) -> str:
        """The door's origin as browsers send it."""
        parts = urlsplit(self.public_url)
        return f"{parts.scheme}://{parts.netloc}"


def _page(name: str, status: int = 200, **values: Any) -> HTMLResponse:
    body = _templates.get_template(name).render(lang="en", **values)
    return HTMLResponse(body, status_code=status, headers=_NO_STORE)


_NO_STORE = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def _safe_next(value: str | None) -> str:
    """Only a path of this door: never another site (an open redirect)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


def make_door(
    app: App, config: DoorConfig, *, directories: Callable[[], Any] | None = None
) -> Starlette:
    """The door's ASGI app over `app`'s store and directories and Prefect at `config`."""
    upstream = Upstream(config.prefect_url, config.auth_string)
    current_directories = directories or (lambda: app.directories)

    def now() -> datetime:
        return app.now()

    def _set_form_cookie(response: Response, nonce: str) -> None:
        response.set_cookie(
            FORM_COOKIE, nonce, httponly=True, samesite="strict", secure=config.secure, path="/"
        )

    def _cross_site(request: Request) -> bool:
        origin = request.headers.get("origin")
        return origin is not None and origin != config.origin

    async def session_of(request: Request) -> StaffSession | None:
        token = request.cookies.get(COOKIE)
        if not token:
            return None
        return await run_in_threadpool(
            door_access.current,
            app.store,
            current_directories(),
            token=token,
            now=now(),
        )

    async def sign_in_page(request: Request) -> Response:
        nonce = secrets.token_urlsafe(16)
        response = _page(
            "sign_in.html",
            title="Sign in",
            form_nonce=nonce,
            next=_safe_next(request.query_params.get("next")),
            staff="",
            problem=None,
            done="Your password is set: sign in."
            if "password-set" in request.query_params
            else None,
        )
        _set_form_cookie(response, nonce)
        return response

    async def sign_in(request: Request) -> Response:
        form = await request.form()
        target = _safe_next(str(form.get("next") or "/"))
        staff = str(form.get("staff") or "").strip()
        if _cross_site(request) or not secrets.compare_digest(
            str(form.get("form") or ""), request.cookies.get(FORM_COOKIE, "-")
        ):
            return JSONResponse({"detail": "refused: this form did not come from the door"}, 403)
        try:
            token, _ = await run_in_threadpool(
                door_access.sign_in,
                app.store,
                current_directories(),
                staff=staff,
                password=str(form.get("password") or ""),
                code=str(form.get("code") or ""),
                now=now(),
            )
        except RehabError as exc:
            nonce = secrets.token_urlsafe(16)
            response = _page(
                "sign_in.html",
                status=401,
                title="Sign in",
                form_nonce=nonce,
                next=target,
                staff=staff,
                problem=str(exc),
                done=None,
            )
            _set_form_cookie(response, nonce)
            return response
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(
            COOKIE, token, httponly=True, samesite="strict", secure=config.secure, path="/"
        )
        response.delete_cookie(FORM_COOKIE, path="/")
        return response

    async def sign_out(request: Request) -> Response:
        if _cross_site(request):
            return JSONResponse({"detail": "refused: not from the door"}, 403)
        token = request.cookies.get(COOKIE)
        if token:
            await run_in_threadpool(door_access.sign_out, app.store, token=token, now=now())
        response = RedirectResponse("/sign-in", status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return response

    async def invite_page(request: Request) -> Response:
        token = request.path_params["token"]
        nonce = secrets.token_urlsafe(16)
        try:
            staff = await run_in_threadpool(
                door_access.invited_staff, app.store, token=token, now=now()
            )
        except RehabError as exc:
            return _page("invite.html", 410, title="Invite", staff=None, problem=str(exc))
        response = _page(
            "invite.html",
            title="Set your password",
            staff=staff,
            form_nonce=nonce,
            min_length=door_access.MIN_PASSWORD,
            problem=None,
        )
        _set_form_cookie(response, nonce)
        return response

    async def invite_use(request: Request) -> Response:
        token = request.path_params["token"]
        form = await request.form()
        if _cross_site(request) or not secrets.compare_digest(
            str(form.get("form") or ""), request.cookies.get(FORM_COOKIE, "-")
        ):
            return JSONResponse({"detail": "refused: this form did not come from the door"}, 403)
        try:
            await run_in_threadpool(
                door_access.set_password,
                app.store,
                token=token,
                password=str(form.get("password") or ""),
                now=now(),
            )
        except door_access.PasswordRefused as exc:
            staff = await run_in_threadpool(
                door_access.invited_staff, app.store, token=token, now=now()
            )
            nonce = secrets.token_urlsafe(16)
            response = _page(
                "invite.html",
                400,
                title="Set your password",
                staff=staff,
                form_nonce=nonce,
                min_length=door_access.MIN_PASSWORD,
                problem=str(exc),
            )
            _set_form_cookie(response, nonce)
            return response
        except RehabError as exc:
            return _page("invite.html", 410, title="Invite", staff=None, problem=str(exc))
        return RedirectResponse("/sign-in?password-set", status_code=303)

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "up"}, headers={"Cache-Control": "no-store"})

    async def ui_settings(request: Request) -> Response:
        """Prefect's UI reads its API address and whether to ask for a password here: the
        door's own /api, and no password (the door has signed her in)."""
        if await session_of(request) is None:
            return JSONResponse({"detail": "sign in at /sign-in"}, 401)
        settings = await upstream.get_json("/ui-settings")
        settings.update(api_url=config.public_url.rstrip("/") + "/api", auth=None)
        return JSONResponse(settings, headers={"Cache-Control": "no-store"})

    def refuse(who: StaffSession | None, request: Request, status: int, why: str) -> Response:
        if request.method not in ("GET", "HEAD"):
            _audit_refusal(app, who, request, why)
        return JSONResponse({"detail": why}, status, headers={"Cache-Control": "no-store"})

    async def through(request: Request) -> Response:
        path = request.url.path
        who = await session_of(request)
        if who is None:
            if path.startswith("/api/") or request.method not in ("GET", "HEAD"):
                return await run_in_threadpool(
                    refuse, None, request, 401, "sign in at /sign-in first"
                )
            return RedirectResponse(f"/sign-in?next={quote(path)}", status_code=303)
        verdict = policy.classify(request.method, path)
        if verdict == "read":
            return await upstream.forward(request)
        if verdict == "decision" and not _cross_site(request):
            return await _decision(request, who)
        return await run_in_threadpool(
            refuse,
            who,
            request,
            403,
            "refused: through the door, staff read Prefect; decisions are taken in their forms",
        )

    async def _decision(request: Request, who: StaffSession) -> Response:
        run = policy.resumed_run(request.url.path)
        assert run is not None
        try:
            body = await request.json()
        except ValueError:
            body = {}
        values = body.get("run_input") if isinstance(body, dict) else None
        try:
            done = await run_in_threadpool(
                decide.submit, app, run=run, by=who.staff, values=dict(values or {})
            )
        except NotAllowed as exc:
            return JSONResponse({"detail": str(exc)}, 403)
        except (decide.NotADecision,) as exc:
            return await run_in_threadpool(refuse, who, request, 403, str(exc))
        except decide.AlreadyDecided as exc:
            return JSONResponse({"detail": str(exc)}, 409)
        except RehabError as exc:
            return JSONResponse({"detail": str(exc)}, 422)
        return JSONResponse(
            {
                "status": "ACCEPT",
                "details": {"type": "accept_details"},
                "state": None,
                "rehab": {"case": done.case, "kind": done.kind, "decision": done.decision},
            }
        )

    async def stream(socket: WebSocket) -> None:
        token = socket.cookies.get(COOKIE)
        origin = socket.headers.get("origin")
        who = (
            await run_in_threadpool(
                door_access.current, app.store, current_directories(), token=token, now=now()
            )
            if token
            else None
        )
        if who is None or (origin is not None and origin != config.origin):
            await socket.close(code=1008)
            return
        if not policy.stream_allowed(socket.url.path):
            await socket.close(code=1008)
            return
        await upstream.relay(socket)

    routes = [
        Route("/health", health, methods=["GET"]),
        Route("/sign-in", sign_in_page, methods=["GET"]),
        Route("/sign-in", sign_in, methods=["POST"]),
        Route("/sign-out", sign_out, methods=["POST"]),
        Route("/invite/{token}", invite_page, methods=["GET"]),
        Route("/invite/{token}", invite_use, methods=["POST"]),
        Route("/ui-settings", ui_settings, methods=["GET"]),
        WebSocketRoute("/api/{rest:path}", stream),
        Route(
            "/{rest:path}",
            through,
            methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
        ),
    ]
    return Starlette(routes=routes, on_shutdown=[upstream.close])


def _audit_refusal(app: App, who: StaffSession | None, request: Request, why: str) -> None:
    with app.store.session() as session:
        audit(
            session,
            sealer=app.store.sealer,
            case_code=None,
            actor=who.staff if who else "unknown",
            action="door-refused",
            now=app.now(),
            detail={
                "method": request.method,
                "path": request.url.path[:200],
                "session": who.session if who else None,
                "why": why[:120],
            },
        )
