"""The door for a benchmark's home: `python -m flows.door` on a free port beside a Stack's
server and runner, and staff signed in at it as a person signs in (enrolled once, her invite
used to set a password, then her password and her authenticator's code)."""

from __future__ import annotations

import os
import sys

import httpx
import pyotp

from bench.scale import Stack
from casework.services import invites
from tests.e2e.harness import PASSWORD, form_nonce, free_port, wait_for


def start_door(stack: Stack) -> str:
    """Start the door for the stack's home (its env, REHAB_HOST/REHAB_PORT); its address."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = dict(stack.env, REHAB_HOST="127.0.0.1", REHAB_PORT=str(port))
    stack.start("door", [sys.executable, "-m", "flows.door"], env)

    def up() -> bool:
        try:
            return httpx.get(f"{url}/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(up, timeout=120, what="the door to answer")
    return url


def enrol(stack: Stack, staff: list[str]) -> dict[str, tuple[pyotp.TOTP, str]]:
    """Each staff member's authenticator and invite token, as `rehab staff enrol` makes them
    (the same casework calls, in this process)."""
    os.environ.update({k: v for k, v in stack.env.items() if k.startswith(("REHAB_", "PREFECT_"))})
    from casework.services import staff_codes  # noqa: PLC0415  # env set first
    from flows.app import App  # noqa: PLC0415

    app = App()
    out: dict[str, tuple[pyotp.TOTP, str]] = {}
    try:
        for who in staff:
            uri = staff_codes.enrol(app.store, app.directories, staff=who, now=app.now())
            token = invites.invite(app.store, app.directories, staff=who, now=app.now())
            totp: pyotp.TOTP = pyotp.parse_uri(uri)  # type: ignore[assignment]  # a TOTP URI
            out[who] = (totp, token)
    finally:
        app.close()
    return out


def sign_in(url: str, staff: str, totp: pyotp.TOTP, invite: str) -> httpx.Client:
    """Her browser: the invite page, her password set, the sign-in page, her password and
    code; returned with its session cookie. Fails loudly if any step is refused."""
    browser = httpx.Client(base_url=url, timeout=120)
    page = browser.get(f"/invite/{invite}")
    done = browser.post(
        f"/invite/{invite}", data={"form": form_nonce(page.text), "password": PASSWORD}
    )
    if done.status_code != 303:
        raise AssertionError(f"{staff}: password not set ({done.status_code}): {done.text[:200]}")
    page = browser.get("/sign-in")
    fields = {"staff": staff, "password": PASSWORD, "code": totp.now(), "next": "/"}
    signed = browser.post("/sign-in", data={"form": form_nonce(page.text), **fields})
    if signed.status_code != 303 or not browser.cookies.get("rehab_session"):
        raise AssertionError(f"{staff}: not signed in ({signed.status_code}): {signed.text[:200]}")
    return browser


def ui_csrf(browser: httpx.Client, client: str) -> dict[str, str]:
    """The CSRF headers Prefect's UI fetches through the door before any POST."""
    token = browser.get("/api/csrf-token", params={"client": client}).json()["token"]
    return {"Prefect-Csrf-Token": token, "Prefect-Csrf-Client": client}
