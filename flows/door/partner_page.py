"""A partner's answer page (security.md rule 12): `GET /p/TOKEN` shows what its link asks, in
the partner's language, and changes nothing (mail scanners and link previews follow links);
`POST /p/TOKEN` with the page's form nonce records the answer. No sign-in: the link is the
capability. The page names the case code, the step's title and when; never the person. The
token is in no log: the door keeps no access log and audits no refusal of these pages."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections import deque
from datetime import date
from zoneinfo import ZoneInfo

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from casework.domain.partner_links import DECLINE_REASONS
from casework.services.partner_answers import Asked, look, respond
from flows import tending
from flows.door.app import Door
from flows.door.sign_in import _HEADERS, _templates
from notifications.render import phrase
from plans.model import DEFAULT_TIMEZONE

# What a link that cannot be used answers (and nothing about its case).
REFUSED = {"unknown": 404, "expired": 410, "gone": 410}
# Per address: this many requests to /p/ in a minute, then 429 (the rest of the door goes on).
BURST, WINDOW = 30, 60.0


class Throttle:
    """A sliding window of request times per client address."""

    def __init__(self, limit: int = BURST, window: float = WINDOW) -> None:
        self.limit, self.window = limit, window
        self._seen: dict[str, deque[float]] = {}

    def allow(self, address: str) -> bool:
        """Count one request from `address`; False once it has had its share this window."""
        now = time.monotonic()
        if len(self._seen) > 10_000:  # forget idle addresses now and then
            self._seen = {a: q for a, q in self._seen.items() if q and q[-1] > now - self.window}
        seen = self._seen.setdefault(address, deque())
        while seen and seen[0] <= now - self.window:
            seen.popleft()
        if len(seen) >= self.limit:
            return False
        seen.append(now)
        return True


class PartnerPage:
    """The handlers of `/p/{token}` on one door."""

    def __init__(self, door: Door, throttle: Throttle | None = None) -> None:
        self.door = door
        self.throttle = throttle or Throttle()

    def _nonce(self, token: str) -> str:
        key = self.door.app.store.links.secret()
        return hmac.new(key, b"partner-form|" + token.encode(), hashlib.sha256).hexdigest()[:32]

    def _where(self, asked: Asked) -> tuple[str, ZoneInfo]:
        directories = self.door.directories()
        partner = directories.partners.partners.get(asked.link.partner if asked.link else "")
        zone = (partner.timezone if partner else None) or directories.staff.timezone
        return (partner.language if partner else "en"), ZoneInfo(zone or DEFAULT_TIMEZONE)

    def _render(self, token: str, asked: Asked, *, status: int = 200, note: str = "") -> Response:
        language, zone = self._where(asked)
        link = asked.link
        values: dict[str, object] = {"lang": language, "title": "rehab", "message_class": "done"}
        if asked.status in REFUSED or link is None:
            # Nothing about the case: a purged case's link says only that it is gone.
            values.update(message=phrase(language, asked.status), message_class="problem")
            return self._html(values, REFUSED.get(asked.status, status))
        when = "" if asked.when is None else f"{asked.when.astimezone(zone):%Y-%m-%d %H:%M}"
        values.update(
            title=phrase(language, "title", case=link.case),
            heading=phrase(language, "title", case=link.case),
            ask=phrase(language, f"ask-{link.question}", title=asked.title, when=when),
        )
        if asked.status == "answered":
            recorded = asked.recorded or ""
            word = (
                phrase(language, f"choice-{recorded}")
                if recorded in ("accept", "decline", "attended", "missed", "another-date")
                else phrase(language, "recorded-word")
            )
            key = "recorded" if note == "recorded" else "answered"
            values.update(message=phrase(language, key, choice=word))
        elif asked.status == "early":
            values.update(message=phrase(language, "early", when=when), message_class="problem")
        else:
            values.update(
                choice=phrase(language, f"choice-{link.choice}"),
                action=f"/p/{token}",
                nonce=self._nonce(token),
            )
            if note:
                values.update(message=phrase(language, note), message_class="problem")
            if link.choice == "decline":
                values.update(
                    reason_label=phrase(language, "reason"),
                    reasons=[(r, phrase(language, f"reason-{r}")) for r in DECLINE_REASONS],
                )
            if link.choice == "another-date":
                values.update(wanted_label=phrase(language, "wanted"))
        return self._html(values, status)

    @staticmethod
    def _html(values: dict[str, object], status: int) -> Response:
        body = _templates.get_template("partner.html").render(**values)
        return HTMLResponse(body, status_code=status, headers=_HEADERS)

    def _slow(self, request: Request) -> Response | None:
        address = request.client.host if request.client else "unknown"
        if self.throttle.allow(address):
            return None
        body = _templates.get_template("partner.html").render(
            lang="en", title="rehab", message=phrase("en", "slow"), message_class="problem"
        )
        return HTMLResponse(body, 429, headers={**_HEADERS, "Retry-After": str(int(WINDOW))})

    async def show(self, request: Request) -> Response:
        """GET: what the link asks; nothing is recorded."""
        slow = self._slow(request)
        if slow is not None:
            return slow
        token = request.path_params["token"]
        asked = await run_in_threadpool(look, self.door.app.store, token, now=self.door.now())
        return self._render(token, asked)

    async def answer(self, request: Request) -> Response:
        """POST: the answer, recorded if the form's nonce is this link's and the question open."""
        slow = self._slow(request)
        if slow is not None:
            return slow
        token = request.path_params["token"]
        store, now = self.door.app.store, self.door.now()
        asked = await run_in_threadpool(look, store, token, now=now)
        if asked.status != "open" or asked.link is None:
            return self._render(token, asked, status=409)
        form = await request.form()
        nonce, reason = str(form.get("nonce", "")), str(form.get("reason", "")) or None
        wanted = _date(str(form.get("wanted", "")))
        link = asked.link
        incomplete = (link.choice == "decline" and reason not in DECLINE_REASONS) or (
            link.choice == "another-date" and wanted is None
        )
        forged = self.door.cross_site(request) or not hmac.compare_digest(nonce, self._nonce(token))
        if forged or incomplete:
            return self._render(token, asked, status=400, note="bad-form")
        done = await run_in_threadpool(
            respond, store, self.door.directories(), token, now=now, reason=reason, wanted=wanted
        )
        if done.status == "answered":
            await run_in_threadpool(_wake, self.door, link.case)
            mine = done.recorded == link.choice
            return self._render(token, done, note="recorded" if mine else "")
        return self._render(token, done, status=409)


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _wake(door: Door, code: str) -> None:
    """Let the plan's run show the answer now, as a decision taken at the door does."""
    tending.tend_after_change(door.app, code)
