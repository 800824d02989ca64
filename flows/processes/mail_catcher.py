"""A local mail catcher for `rehab up --examples`: an SMTP server on 127.0.0.1 that keeps every
message it receives as a file under REHAB_HOME/mail, and the example directories rewritten to
send there. The shipped example files point at example.org (nothing there receives mail), so
without it every example message fails and goes dead; with it, a newcomer reads what partners
and staff received. Run as a child of `rehab up`:
`python -m flows.processes.mail_catcher DIR PORT`."""

from __future__ import annotations

import email
import email.policy
import itertools
import os
import signal
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import yaml

from flows.home.logfiles import append_line

SENDER = "rehab@ngo.example"


def inbox(home: Path) -> Path:
    """Where the caught messages are: one .eml file each, and `received.log`, a line each
    (a purge removes the case's: flows/home/erasure.py)."""
    return home / "mail"


def local_url(url: str, port: int) -> str:
    """The same recipients as a directory's `mailto://` URL, through the catcher instead."""
    to = parse_qs(urlsplit(url).query).get("to", ["someone@example.org"])[0]
    return f"mailto://127.0.0.1:{port}?to={quote(to, safe='@.')}&from={SENDER}&mode=insecure"


def overlay_directories(partners: Path, staff: Path, *, into: Path, port: int) -> tuple[Path, Path]:
    """Copies of the directories whose every channel goes to the catcher on `port` (0600, in
    `into`); the shipped files stay as they are. Returns the copies' paths."""
    into.mkdir(parents=True, exist_ok=True, mode=0o700)
    written = []
    for source, section in ((partners, "partners"), (staff, "staff")):
        data = yaml.safe_load(source.read_text(encoding="utf-8"))
        for entry in (data.get(section) or {}).values():
            entry["notify"] = [local_url(url, port) for url in entry.get("notify", [])]
        target = into / source.name
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(f"# {source.name} with every channel sent to the local mail catcher.\n")
            yaml.safe_dump(data, out, allow_unicode=True, sort_keys=False)
        written.append(target)
    return written[0], written[1]


class Catcher:
    """aiosmtpd's handler: each message a private file, and a line in `received.log`."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.count = itertools.count(1)
        self.lock = threading.Lock()

    def _write(self, path: Path, data: bytes) -> None:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(data)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802  # aiosmtpd's hook name
        """Keep the message; answer as a mail server that took it."""
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        at = datetime.now(UTC)
        with self.lock:
            name = f"{at:%Y%m%dT%H%M%S}-{next(self.count):05d}.eml"
            self._write(self.directory / name, envelope.content)
            line = f"{at:%Y-%m-%d %H:%M:%S} UTC  to {', '.join(envelope.rcpt_tos)}  "
            line += f"{message['subject']}  ({name})\n"
            # Under the file's lock: a purge takes a case's lines out of it in place.
            append_line(self.directory / "received.log", line.encode())
        return "250 OK"


def serve(directory: Path, port: int) -> None:
    """Listen on 127.0.0.1:`port` until SIGTERM or SIGINT."""
    from aiosmtpd.controller import Controller  # noqa: PLC0415  # only in the catcher

    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    controller = Controller(Catcher(directory), hostname="127.0.0.1", port=port)
    controller.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print(f"mail catcher on 127.0.0.1:{port}, keeping messages in {directory}", flush=True)
    while not stop.wait(0.5):
        pass
    controller.stop()


if __name__ == "__main__":
    serve(Path(sys.argv[1]), int(sys.argv[2]))
