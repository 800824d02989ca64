"""A door for the staff pages' tests: a real case store on SQLite, the door's ASGI app under
Starlette's TestClient, the Prefect side a recording fake, and staff signed in as themselves
(enrolled, invited, password set, signed in through the service the sign-in page calls, once
per test module, in a store each of its tests copies)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest
import yaml
from starlette.testclient import TestClient

from casework.services import door_access, invites, staff_codes
from flows.app import App
from flows.door.app import COOKIE, DoorConfig, make_door
from flows.prefect.fake import RecordingPrefect
from flows.settings import Settings
from notifications.notifier import RecordingNotifier
from tests.conftest import ROOT, T0, PaperClock

DOOR = "https://door.example"
PASSWORD = "correct horse battery staple"
JSON = {"accept": "application/json"}
# The example directory, with a director and a second supervisor, and plans that need approval.
STAFF = {
    "default_supervisor": "l-istomova",
    "approval": "required",
    "staff": {
        "n-zdolnik": {"name": "N. Zdolnik", "role": "case-manager", "language": "ru"},
        "a-kovalchuk": {"name": "A. Kovalchuk", "role": "case-manager", "language": "en"},
        "l-istomova": {"name": "L. Istomova", "role": "supervisor", "language": "en"},
        "o-other": {"name": "O. Other", "role": "supervisor", "language": "be"},
        "d-director": {"name": "D. Director", "role": "director", "language": "en"},
    },
}


def _app(folder: Path, clock: PaperClock) -> App:
    staff_file = folder / "staff.yaml"
    staff_file.write_text(yaml.safe_dump(STAFF))
    settings = Settings(
        home=folder / "home",
        public_url=DOOR,
        database_url=f"sqlite:///{folder / 'c.db'}",
        staff_file=staff_file,
        partners_file=ROOT / "plans" / "examples" / "partners.yaml",
    )
    return App(settings, prefect=RecordingPrefect(), notifier=RecordingNotifier(), clock=clock)


@pytest.fixture(scope="module")
def signed_in(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A case store in which everyone on STAFF signed in at T0, made once per module (each
    sign-in costs two argon2 hashes): its folder, to be copied, and each one's session token."""
    folder = tmp_path_factory.mktemp("signed-in")
    app = _app(folder, PaperClock())
    try:
        tokens = {staff: sign_in(app, staff) for staff in STAFF["staff"]}
    finally:
        app.close()  # the last connection's close folds the WAL into the file
    assert not (folder / "c.db-wal").exists()
    return folder, tokens


@pytest.fixture
def app(request: pytest.FixtureRequest, tmp_path: Path, paper: PaperClock) -> Iterator[App]:
    """The door's App on a store of its own; a test with desks finds everyone signed in."""
    if "desks" in request.fixturenames:
        folder, _ = request.getfixturevalue("signed_in")
        shutil.copytree(folder / "home", tmp_path / "home")
        shutil.copyfile(folder / "c.db", tmp_path / "c.db")
    engine = _app(tmp_path, paper)
    yield engine
    engine.close()


class Desk:
    """One staff member's browser: her cookie, and her pages' CSRF token."""

    def __init__(self, client: TestClient, staff: str) -> None:
        self.client, self.staff = client, staff

    def sign_in_again(self, app: App) -> None:
        """A new session (hers ends after 30 idle minutes: a test's clock moves days)."""
        self.client.cookies.set(COOKIE, sign_in(app, self.staff))

    def get(self, path: str, **kw: Any) -> Any:
        """A page as JSON."""
        return self.client.get(path, headers=JSON, **kw)

    def csrf(self) -> str:
        """The token her day page hands her."""
        return str(self.get("/rehab/day").json()["csrf"])

    def post(self, path: str, data: dict[str, Any], *, csrf: str | None = None) -> Any:
        """A change as her page's form sends it, the answer as JSON."""
        token = self.csrf() if csrf is None else csrf
        return self.client.post(path, data={**data, "csrf": token}, headers=JSON)


def sign_in(app: App, staff: str) -> str:
    """Her session token, as the sign-in page sets it."""
    store, directories = app.store, app.directories
    totp = pyotp.parse_uri(staff_codes.enrol(store, directories, staff=staff, now=app.now()))
    invite = invites.invite(store, directories, staff=staff, now=app.now())
    invites.set_password(store, token=invite, password=PASSWORD, now=app.now())
    token, _ = door_access.sign_in(
        store,
        directories,
        staff=staff,
        password=PASSWORD,
        code=totp.at(app.now()),
        now=app.now(),
    )
    return token


class Desks:
    """A desk per staff member, signed in when first used (argon2 makes a sign-in cost)."""

    def __init__(self, app: App, tokens: dict[str, str]) -> None:
        config = DoorConfig(prefect_url="http://127.0.0.1:9", auth_string=None, public_url=DOOR)
        self.app, self.door = app, make_door(app, config)
        self.tokens = tokens
        self.open: dict[str, Desk] = {}

    def __getitem__(self, staff: str) -> Desk:
        if staff not in self.open:
            client = TestClient(self.door, base_url=DOOR)
            client.__enter__()
            # Her session from the store's making serves while the clock has not moved since.
            token = self.tokens.get(staff) if self.app.now() == T0 else None
            client.cookies.set(COOKIE, token or sign_in(self.app, staff))
            self.open[staff] = Desk(client, staff)
        return self.open[staff]

    def close(self) -> None:
        """Every desk's client closed."""
        for desk in self.open.values():
            desk.client.__exit__(None, None, None)


@pytest.fixture
def desks(app: App, signed_in: tuple[Path, dict[str, str]]) -> Iterator[Desks]:
    """A signed-in desk per staff member, on demand."""
    found = Desks(app, signed_in[1])
    try:
        yield found
    finally:
        found.close()
