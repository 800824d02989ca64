"""The `rehab` command's entry point. A command the running engine can serve (`plan launch`)
is sent to the engine's socket in REHAB_HOME, and its answer printed as the command's own; if no
engine answers there, or it declines (another user, other settings), the command runs in this
process as it always has. Only the standard library is imported before that choice: the point
is a process that costs milliseconds, not the seconds Prefect and SQLAlchemy take to import."""

from __future__ import annotations

import json
import os
import socket
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

SOCKET_NAME = "engine.sock"
SERVED = (("plan", "launch"),)  # what the engine does for its operator (server.py checks too)
CONNECT_SECONDS = 1.0  # an engine that does not take the call in this long: run it here
MAX_REPLY = 256 * 1024 * 1024  # a reply larger than this is not the engine's
PASSED = ("REHAB_", "PREFECT_")  # what of the environment the engine compares with its own
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
    passed = {k: v for k, v in env.items() if k.startswith(PASSED) or k == "HOME"}
    return {"argv": list(argv), "cwd": cwd, "env": passed}


def ask_engine(argv: Sequence[str], env: Mapping[str, str], cwd: str) -> dict[str, Any] | None:
    """The engine's reply, or None: no engine listening (or it could not be asked); an
    engine that took the command and then stopped is a reply saying so."""
    path = socket_path(env)
    if not path.exists():
        return None
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        try:
            conn.settimeout(CONNECT_SECONDS)
            conn.connect(str(path))
            conn.settimeout(None)  # a launch of many plans takes as long as it takes
            conn.sendall(json.dumps(request(argv, env, cwd)).encode())
            conn.shutdown(socket.SHUT_WR)
        except OSError:  # a socket left by an engine that is gone, or one that is busy
            return None
        chunks, size = [], 0
        try:
            while chunk := conn.recv(1 << 16):
                chunks.append(chunk)
                size += len(chunk)
                if size > MAX_REPLY:
                    break
        except OSError:
            pass
    try:
        reply = json.loads(b"".join(chunks))
    except ValueError:  # taken, then no whole answer: it may have done part of it
        return {"served": True, "stdout": "", "stderr": STOPPED, "exit": 1}
    return reply if isinstance(reply, dict) else None


def main() -> None:
    """Entry point of the installed `rehab` and of `python -m flows`."""
    argv = sys.argv[1:]
    if servable(argv) and os.environ.get("REHAB_ENGINE_SOCKET", "on") != "off":
        reply = ask_engine(argv, os.environ, os.getcwd())
        if reply is not None and reply.get("served"):
            sys.stdout.write(str(reply.get("stdout", "")))
            sys.stderr.write(str(reply.get("stderr", "")))
            sys.exit(int(reply.get("exit", 1)))
    from flows.cli import main as run_here  # noqa: PLC0415  # only when the engine did not serve

    run_here()
