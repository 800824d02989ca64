"""The door (security.md rule 1): the one web address for people. Staff sign in as themselves;
Prefect's UI and API are behind it, read-only for them, except a decision form she may decide,
which the door records itself. Prefect's auth string stays here and is never shown."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from casework.domain.errors import NotAllowed
from casework.services import door_access, staff_secrets
from casework.services.door_access import StaffSession
from casework.store.acting import through_session
from casework.store.audit_rows import audit
from flows.app import App
from flows.door import decide, policy
from flows.door.proxy import Upstream
from plans.directories import Directories
from plans.errors import RehabError

T = TypeVar("T")
COOKIE = "rehab_session"
NO_STORE = {"Cache-Control": "no-store"}


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


class Door:
    """The door's state: the case store and directories (through `app`), Prefect upstream."""

    def __init__(
        self,
        app: App,
        config: DoorConfig,
        *,
        directories: Callable[[], Directories] | None = None,
    ) -> None:
        self.app, self.config = app, config
        self.upstream = Upstream(config.prefect_url, config.auth_string)
        self.directories = directories or (lambda: app.directories)

    def now(self) -> datetime:
        """The door's clock (a test's paper clock through `app`)."""
        return self.app.now()

    def cross_site(self, request: Request) -> bool:
        """A browser sent this from another site's page: refused for every change."""
        origin = request.headers.get("origin")
        return origin is not None and origin != self.config.origin

    async def session_of(self, token: str | None) -> StaffSession | None:
        """The signed-in person a session cookie names, if the session is still good."""
        if not token:
            return None
        return await run_in_threadpool(
            door_access.current, self.app.store, self.directories(), token=token, now=self.now()
        )

    async def refuse(
        self, who: StaffSession | None, request: Request, status: int, why: str
    ) -> Response:
        """Refuse the request; a refused change is an audit row."""
        if request.method not in ("GET", "HEAD"):
            await run_in_threadpool(self._audit_refusal, who, request, why)
        return JSONResponse({"detail": why}, status, headers=NO_STORE)

    def _audit_refusal(self, who: StaffSession | None, request: Request, why: str) -> None:
        with self.app.store.session() as session:
            audit(
                session,
                sealer=self.app.store.sealer,
                case_code=None,
                actor=who.staff if who else "unknown",
                action="door-refused",
                now=self.now(),
                detail={
                    "method": request.method,
                    "path": _shown_path(request.url.path),
                    "session": who.session if who else None,
                    "why": why[:120],
                },
            )

    async def no_page(self, request: Request) -> Response:
        """A path under /rehab/ that is no page: not found here, and never sent on to Prefect."""
        return JSONResponse({"detail": "no such page"}, 404, headers=NO_STORE)

    async def health(self, request: Request) -> Response:
        """Up, and nothing more."""
        return JSONResponse({"status": "up"}, headers=NO_STORE)

    async def ui_settings(self, request: Request) -> Response:
        """Prefect's UI reads its API address and whether to ask for a password here: the
        door's own /api, and no password (the door has signed her in)."""
        if await self.session_of(request.cookies.get(COOKIE)) is None:
            return JSONResponse({"detail": "sign in at /sign-in"}, 401, headers=NO_STORE)
        settings = await self.upstream.get_json("/ui-settings")
        settings.update(api_url=self.config.public_url.rstrip("/") + "/api", auth=None)
        return JSONResponse(settings, headers=NO_STORE)

    async def through(self, request: Request) -> Response:
        """Everything else: Prefect's UI and API, by the policy."""
        path = request.url.path
        who = await self.session_of(request.cookies.get(COOKIE))
        if who is None:
            if path.startswith("/api/") or request.method not in ("GET", "HEAD"):
                return await self.refuse(None, request, 401, "sign in at /sign-in first")
            return RedirectResponse(f"/sign-in?next={quote(path)}", status_code=303)
        verdict = policy.classify(request.method, path)
        if verdict == "read":
            return await self.upstream.forward(request)
        if verdict == "decision" and not self.cross_site(request):
            return await self.decision(request, who)
        return await self.refuse(
            who,
            request,
            403,
            "refused: through the door, staff read Prefect; decisions are taken in their forms",
        )

    async def decision(self, request: Request, who: StaffSession) -> Response:
        """A decision form's submission: recorded by the door as hers, or refused."""
        run = policy.resumed_run(request.url.path)
        assert run is not None
        try:
            body = await request.json()
        except ValueError:
            body = {}
        values = body.get("run_input") if isinstance(body, dict) else None
        try:
            done = await run_in_threadpool(
                _as_session,
                who.session,
                lambda: decide.submit(
                    self.app,
                    run=run,
                    by=who.staff,
                    values=dict(values) if isinstance(values, dict) else {},
                ),
            )
        except NotAllowed as exc:  # audited by the service that refused it
            return JSONResponse({"detail": str(exc)}, 403, headers=NO_STORE)
        except decide.NotADecision as exc:
            return await self.refuse(who, request, 403, str(exc))
        except decide.AlreadyDecided as exc:
            return JSONResponse({"detail": str(exc)}, 409, headers=NO_STORE)
        except RehabError as exc:
            return JSONResponse({"detail": str(exc)}, 422, headers=NO_STORE)
        outcome = {"case": done.case, "kind": done.kind, "decision": done.decision}
        return JSONResponse(
            {"status": "ACCEPT", "details": {"type": "accept_details"}, "rehab": outcome},
            headers=NO_STORE,
        )

    async def stream(self, socket: WebSocket) -> None:
        """The UI's event and log streams, for a signed-in person on the door's own page."""
        who = await self.session_of(socket.cookies.get(COOKIE))
        origin = socket.headers.get("origin")
        wrong_origin = origin is not None and origin != self.config.origin
        if who is None or wrong_origin or not policy.stream_allowed(socket.url.path):
            await socket.close(code=1008)
            return
        await self.upstream.relay(socket)


def _as_session(session: str, change: Callable[[], T]) -> T:
    """`change`, every audit row it writes naming the door session it came through."""
    with through_session(session):
        return change()


def _shown_path(path: str) -> str:
    """A path as the audit log may keep it: a partner's link is a capability, never kept."""
    return "/p/(a partner's link)" if path.startswith("/p/") else path[:200]


def make_door(
    app: App, config: DoorConfig, *, directories: Callable[[], Directories] | None = None
) -> Starlette:
    """The door's ASGI app over `app`'s store and directories and Prefect at `config`."""
    from flows.door import (  # noqa: PLC0415  # they need a Door built first
        case_actions,
        case_page,
        day_page,
        partner_page,
        plan_page,
        sign_in,
        staff_page,
    )

    door = Door(app, config, directories=directories)
    pages = sign_in.Pages(door)
    partners = partner_page.PartnerPage(door)
    staff = staff_page.StaffPages(door)
    day, new_plan, case = (
        day_page.DayPage(staff),
        plan_page.PlanPage(staff),
        case_page.CasePage(staff),
    )
    actions = case_actions.CaseActions(case)
    methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
    routes: list[Any] = [
        Route("/health", door.health, methods=["GET"]),
        Route("/sign-in", pages.sign_in_page, methods=["GET"]),
        Route("/sign-in", pages.sign_in, methods=["POST"]),
        Route("/sign-out", pages.sign_out, methods=["POST"]),
        Route("/invite/{token}", pages.invite_page, methods=["GET"]),
        Route("/invite/{token}", pages.invite_use, methods=["POST"]),
        Route("/p/{token}", partners.show, methods=["GET", "HEAD"]),
        Route("/p/{token}", partners.answer, methods=["POST"]),
        Route("/rehab/day", day.show, methods=["GET"]),
        Route("/rehab/plans/new", new_plan.show, methods=["GET"]),
        Route("/rehab/plans/new", new_plan.post, methods=["POST"]),
        Route("/rehab/cases/{code}", case.show, methods=["GET"]),
        Route("/rehab/cases/{code}/{action}", actions.post, methods=["POST"]),
        Route("/rehab", lambda _: RedirectResponse("/rehab/day", 303), methods=["GET"]),
        # No other page is the staff's: nothing under /rehab/ reaches Prefect, nor its query.
        Route("/rehab/{rest:path}", door.no_page, methods=methods),
        Route("/ui-settings", door.ui_settings, methods=["GET"]),
        WebSocketRoute("/api/{rest:path}", door.stream),
        Route("/{rest:path}", door.through, methods=methods),
    ]

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        staff_secrets.ready_for_sign_in()
        yield
        await door.upstream.close()

    return Starlette(routes=routes, lifespan=lifespan)
