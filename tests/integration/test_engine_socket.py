"""The engine's socket refuses what it must (security.md rule 4: the CLI is the operator's
alone): another OS user, a command it does not serve, a request that is not one, a caller whose
settings are not the engine's. Each refusal is a reply the client reads as "run it yourself",
and the socket goes on answering. A real socket, a real server thread, a real store."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from flows.app import App
from flows.engine_socket import client, server
from flows.prefect.fake import RecordingPrefect
from flows.settings import Settings
from notifications.notifier import RecordingNotifier

NOBODY = 65534
EXAMPLES_DIR = Path(__file__).resolve().parent.parent.parent / "plans" / "examples"


@pytest.fixture
def engine(store_url: str) -> Iterator[App]:
    """An engine whose socket answers (a short home: a socket's path has about 100 bytes)."""
    home = Path(tempfile.mkdtemp(prefix="sk-", dir="/tmp"))
    settings = Settings(home=home, database_url=store_url)
    app = App(settings, prefect=RecordingPrefect(), notifier=RecordingNotifier())
    stop = threading.Event()
    thread = threading.Thread(target=server.serve_commands, args=(app, stop))
    thread.start()
    path = home / client.SOCKET_NAME
    for _ in range(600):  # up to 30 s on a loaded machine
        if listening(path):  # bound, made its owner's and listening: not merely there
            break
        stop.wait(0.05)
    yield app
    stop.set()
    listening(path)  # a caller wakes its accept now, not at its next timeout
    thread.join(timeout=10)
    app.close()
    assert not path.exists(), "the socket goes with the engine"


def listening(path: Path) -> bool:
    """Whether the engine's socket at `path` takes a connection."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        try:
            conn.connect(str(path))
        except OSError:
            return False
    return True


def ask(app: App, payload: bytes) -> dict[str, Any]:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.connect(str(app.settings.home_dir / client.SOCKET_NAME))
        conn.sendall(payload)
        conn.shutdown(socket.SHUT_WR)
        lines = b"".join(iter(lambda: conn.recv(65536), b"")).splitlines()
    assert len(lines) == 1, lines  # a refusal is one line
    return dict(json.loads(lines[0]))


def caller_env(app: App, **more: str) -> dict[str, str]:
    return {"REHAB_HOME": str(app.settings.home_dir), "HOME": os.environ.get("HOME", "")} | more


def test_the_socket_is_its_owners_alone(engine: App) -> None:
    path = engine.settings.home_dir / client.SOCKET_NAME
    assert path.is_socket() and path.stat().st_mode & 0o777 == 0o600


def test_a_command_the_engine_does_not_serve_is_left_to_its_caller(engine: App) -> None:
    for argv in (["plan", "list"], ["person", "show", "X"], ["plan", "launch", "--help"], []):
        req = client.request(argv, caller_env(engine), "/tmp")
        reply = ask(engine, json.dumps(req).encode())
        assert reply == {"served": False, "why": "not a command the engine serves"}, argv


def test_what_is_not_a_request_is_declined_and_the_socket_answers_on(engine: App) -> None:
    for payload in (b"", b"not json", b"[1, 2]", json.dumps({"argv": "plan launch"}).encode()):
        assert ask(engine, payload)["served"] is False
    req = client.request(["plan", "launch", "x.yaml"], caller_env(engine), "/tmp")
    assert ask(engine, json.dumps(req).encode())["served"] is False  # the test's env is not ours


def test_a_caller_with_other_settings_or_asking_for_tracebacks_is_declined(engine: App) -> None:
    def why(**env: str) -> str | None:
        req = {"argv": ["plan", "launch", "x.yaml"], "cwd": "/tmp", "env": caller_env(engine)}
        req["env"] |= env
        return server.declined(engine, req)

    same = {"REHAB_DATABASE_URL": str(engine.settings.database_url)}
    assert why(**same) is None
    assert why(**same, REHAB_DEBUG="1") is not None
    assert why(**same, REHAB_CLOCK_INTERVAL="7s") == "other settings than the engine's"
    assert why(**same, REHAB_CLOCK_INTERVAL="not a duration") == "other settings than the engine's"
    assert why(**same, PREFECT_API_URL="http://elsewhere:4200/api") is not None
    assert why(**same, HOME="/somewhere/else") == "another HOME"


SYSTEM_PYTHON = "/usr/bin/python3"  # one another user may run (the project's may be in /root)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to call as another OS user")
@pytest.mark.skipif(not os.access(SYSTEM_PYTHON, os.X_OK), reason=f"no {SYSTEM_PYTHON}")
def test_another_os_user_is_declined_even_if_the_sockets_mode_let_him_in(engine: App) -> None:
    home = engine.settings.home_dir
    home.chmod(0o711)  # loosened by hand: the kernel's word on who calls still holds
    (home / client.SOCKET_NAME).chmod(0o666)
    req = client.request(["plan", "launch", "x.yaml"], caller_env(engine), "/tmp")
    script = (
        "import json, socket, sys\n"
        "s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])\n"
        "s.sendall(sys.argv[2].encode()); s.shutdown(socket.SHUT_WR)\n"
        "print(b''.join(iter(lambda: s.recv(65536), b'')).decode().strip())\n"
    )
    done = subprocess.run(
        [SYSTEM_PYTHON, "-c", script, str(home / client.SOCKET_NAME), json.dumps(req)],
        user=NOBODY,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert json.loads(done.stdout)["served"] is False


def test_a_socket_left_by_a_stopped_engine_makes_the_command_run_itself(tmp_path: Path) -> None:
    home = Path(tempfile.mkdtemp(prefix="sk-", dir="/tmp"))
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(home / client.SOCKET_NAME))
    stale.close()  # bound, never listening: what a killed engine leaves
    env = {"REHAB_HOME": str(home)}
    assert client.ask_engine(["plan", "launch", "x.yaml"], env, "/tmp") is None
    nothing = {"REHAB_HOME": str(tmp_path)}  # no engine ever ran here
    assert client.ask_engine(["plan", "launch", "x.yaml"], nothing, "/") is None


def test_an_engine_that_cannot_make_its_socket_goes_on_without_it(store_url: str) -> None:
    deep = Path(tempfile.mkdtemp(dir="/tmp")) / ("d" * 120)  # longer than a socket's path
    deep.mkdir()
    app = App(Settings(home=deep, database_url=store_url), prefect=RecordingPrefect())
    stop = threading.Event()
    server.serve_commands(app, stop)  # returns at once, saying why
    assert not (deep / client.SOCKET_NAME).exists()


FAKE_ENGINE = (  # another user's listener where the operator's REHAB_HOME points
    "import json, socket, sys\n"
    "s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(1)\n"
    "print('ready', flush=True)\n"
    "s.settimeout(10)\n"
    "try:\n"
    "    c, _ = s.accept()\n"
    "except OSError:\n"
    "    sys.exit(0)\n"
    "c.settimeout(5)\n"
    "got = b''.join(iter(lambda: c.recv(65536), b''))\n"
    "sys.stdout.write(got.decode()); sys.stdout.flush()\n"
    "c.sendall(json.dumps({'out': 'LAUNCHED\\n'}).encode() + b'\\n' + b'{\"exit\": 0}\\n')\n"
)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to listen as another OS user")
@pytest.mark.skipif(not os.access(SYSTEM_PYTHON, os.X_OK), reason=f"no {SYSTEM_PYTHON}")
def test_the_command_tells_another_users_socket_nothing_and_believes_nothing_from_it() -> None:
    home = Path(tempfile.mkdtemp(prefix="sk-", dir="/tmp"))
    os.chown(home, NOBODY, NOBODY)  # a home (or a /tmp path) another user made first
    fake = subprocess.Popen(
        [SYSTEM_PYTHON, "-c", FAKE_ENGINE, str(home / client.SOCKET_NAME)],
        user=NOBODY,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert fake.stdout is not None and fake.stdout.readline() == "ready\n"
        env = {"REHAB_HOME": str(home), "PREFECT_API_AUTH_STRING": "admin:s3cret"}
        assert client.ask_engine(["plan", "launch", "x.yaml"], env, "/tmp") is None
        fake.wait(timeout=20)
        assert "s3cret" not in fake.stdout.read(), "the auth string went to another user"
    finally:
        fake.kill()
        fake.wait()


def test_a_file_that_means_another_thing_in_the_engines_process_is_left_to_its_caller(
    engine: App, tmp_path: Path
) -> None:
    """/dev/stdin or <(...) name the caller's own stdin or pipe, and a named pipe blocks its
    reader: the engine would read its own descriptors, or stall its socket."""
    (tmp_path / "plan.yaml").write_text("case: X\n")
    os.mkfifo(tmp_path / "pipe.yaml")
    (tmp_path / "in.yaml").symlink_to("/dev/stdin")

    def why(*files: str) -> str | None:
        env = caller_env(engine, REHAB_DATABASE_URL=str(engine.settings.database_url))
        req = {"argv": ["plan", "launch", *files], "cwd": str(tmp_path), "env": env}
        return server.declined(engine, req)

    assert why("plan.yaml", "no-such.yaml", "--by", "n-zdolnik") is None
    for files in (
        ("/dev/stdin",),
        ("/dev/fd/63",),
        ("plan.yaml", "/proc/self/fd/0"),
        ("../" * 12 + "proc/self/environ",),
        ("pipe.yaml",),
        ("in.yaml",),
    ):
        assert why(*files) is not None, files


def test_a_caller_that_trickles_its_request_holds_the_socket_no_longer_than_one_read(
    engine: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(server, "READ_SECONDS", 1.0)
    path = str(engine.settings.home_dir / client.SOCKET_NAME)
    done = threading.Event()

    def trickle() -> None:  # a byte at a time, each within the read timeout, for 8 s
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as slow:
            slow.connect(path)
            for _ in range(40):
                if done.is_set():
                    return
                with contextlib.suppress(OSError):
                    slow.sendall(b" ")
                time.sleep(0.2)

    slow = threading.Thread(target=trickle)
    slow.start()
    time.sleep(0.3)  # the slow caller is the one being read
    started = time.monotonic()
    try:
        assert ask(engine, b"[]")["served"] is False
        assert time.monotonic() - started < 4, "the next caller waited on the slow one"
    finally:
        done.set()
        slow.join()


def test_a_setting_named_in_lower_case_is_the_callers_too(engine: App) -> None:
    """The CLI reads `rehab_database_url` as REHAB_DATABASE_URL (names are not case
    sensitive): a caller naming another database so is not served on the engine's."""
    other = {"rehab_database_url": "sqlite:////tmp/another.db", "Prefect_Api_Url": "http://x/api"}
    req = client.request(["plan", "launch", "x.yaml"], caller_env(engine) | other, "/tmp")
    assert other.items() <= req["env"].items(), "sent"
    same = {"REHAB_DATABASE_URL": str(engine.settings.database_url)}
    for name, value in other.items():
        req = {"argv": ["plan", "launch", "x.yaml"], "cwd": "/tmp"}
        req["env"] = caller_env(engine, **same) | {name: value}
        assert server.declined(engine, req) is not None, name


def test_a_relative_path_is_the_callers_from_where_it_calls(store_url: str) -> None:
    """REHAB_STAFF_FILE=staff.yaml is another file, another directory of roles, from another
    working directory: the engine serves such a caller only from its own."""
    here = Path.cwd()
    staff = Path(os.path.relpath(EXAMPLES_DIR / "staff.yaml", here))
    home = Path(tempfile.mkdtemp(prefix="sk-", dir="/tmp"))
    settings = Settings(home=home, database_url=store_url, staff_file=staff)
    app = App(settings, prefect=RecordingPrefect(), notifier=RecordingNotifier())
    try:

        def why(cwd: Path, **env: str) -> str | None:
            env = {"REHAB_HOME": str(home), "HOME": os.environ.get("HOME", "")} | env
            req = {"argv": ["plan", "launch", "x.yaml"], "cwd": str(cwd), "env": env}
            return server.declined(app, req)

        same = {"REHAB_DATABASE_URL": store_url, "REHAB_STAFF_FILE": str(staff)}
        assert why(here, **same) is None
        assert why(home, **same) is not None, "another staff file"
        assert why(here, **same | {"REHAB_STAFF_FILE": str(here / staff)}) is None
        relative = same | {"REHAB_DATABASE_URL": "sqlite:///cases.db"}
        app.settings = Settings(home=home, database_url="sqlite:///cases.db", staff_file=staff)
        assert why(here, **relative) is None
        assert why(home, **relative) is not None, "another database"
    finally:
        app.close()
