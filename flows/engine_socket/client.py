"""The `rehab` command's entry point. A command the running engine can serve (`plan launch`)
is sent to the engine's socket in REHAB_HOME, and its answer printed as the command's own; if no
engine answers there, or it declines (another user, other settings), the command runs in this
process as it always has. Only the standard library is imported before that choice: the point
is a process that costs milliseconds, not the seconds Prefect and SQLAlchemy take to import."""

from __future__ import annotations

import json
import os
import socket
import struct
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

SOCKET_NAME = "engine.sock"
SERVED = (("plan", "launch"),)  # what the engine does for its operator (server.py checks too)
CONNECT_SECONDS = 1.0  # an engine that does not take the call in this long: run it here
# What of the environment the engine compares with its own (in any case: settings read it so)
PASSED = ("REHAB_", "PREFECT_")
STOPPED = (
    "error: the engine stopped before it answered; what it had recorded is kept: "
    "`rehab plan list` shows the plans, and the clock starts their runs\n"
)


def socket_path(env: Mapping[str, str]) -> Path:
    """Where the engine of the caller's REHAB_HOME listens."""
    return Path(env.get("REHAB_HOME") or "~/.rehab").expanduser() / SOCKET_NAME


def servable(argv: Sequence[str]) -> bool:
    """True if the engine may do this command (help is always printed here)."""
    return tuple(argv[:2]) in SERVED and not {"-h", "--help"} & set(argv[2:])


def request(argv: Sequence[str], env: Mapping[str, str], cwd: str) -> dict[str, Any]:
    """What is sent: the command, where it was typed, and the environment that decides its
    settings."""
    passed = {k: v for k, v in env.items() if k.upper().startswith(PASSED) or k == "HOME"}
    return {"argv": list(argv), "cwd": cwd, "env": passed}


def peer_uid(conn: socket.socket) -> int:
    """The user id of whoever is at the other end of a Unix socket, as the kernel knows it."""
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return int(struct.unpack("3i", creds)[1])


def ask_engine(argv: Sequence[str], env: Mapping[str, str], cwd: str) -> int | None:
    """Have the engine do the command, printing its output as it comes: its exit code, or
    None if no engine took it (none listening, one of another OS user's, it declined, or it
    answered nothing), so the command runs here (and refuses a home not ours). An engine
    that stopped half-way is said, exit 1."""
    path = socket_path(env)
    if not path.exists():
        return None
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        try:
            conn.settimeout(CONNECT_SECONDS)
            conn.connect(str(path))
            if peer_uid(conn) != os.geteuid():  # not our engine: it is told nothing
                return None
            conn.settimeout(None)  # a launch of many plans takes as long as it takes
            conn.sendall(json.dumps(request(argv, env, cwd)).encode())
            conn.shutdown(socket.SHUT_WR)
        except OSError:  # a socket left by an engine that is gone, or one that is busy
            return None
        answered = False
        try:
            for line in conn.makefile("rb"):
                said = json.loads(line)
                if said.get("served") is False:
                    return None
                answered = True
                if "exit" in said:
                    return int(said["exit"])
                stream = sys.stdout if "out" in said else sys.stderr
                stream.write(str(said.get("out", said.get("err", ""))))
                stream.flush()
        except (OSError, ValueError, AttributeError):
            pass
    if not answered:
        return None
    sys.stderr.write(STOPPED)
    return 1


def main() -> None:
    """Entry point of the installed `rehab` and of `python -m flows`."""
    argv = sys.argv[1:]
    if servable(argv) and os.environ.get("REHAB_ENGINE_SOCKET", "on") != "off":
        try:
            cwd = os.getcwd()
        except OSError:  # a directory deleted under the caller: the command says so itself
            cwd = None
        code = ask_engine(argv, os.environ, cwd) if cwd is not None else None
        if code is not None:
            sys.exit(code)
    from flows.cli import main as run_here  # noqa: PLC0415  # only when the engine did not serve

    run_here()
