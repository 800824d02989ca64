"""Real message endpoints on 127.0.0.1 for apprise: an SMTP server and an HTTP receiver."""

from __future__ import annotations

import email
import email.policy
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller

from tests.e2e.harness import free_port


@dataclass
class Mail:
    """One e-mail as received: envelope recipients, subject and decoded text."""

    to: list[str]
    subject: str
    body: str
    html: list[str] = field(default_factory=list)  # every text/html part, decoded


@dataclass
class SmtpServer:
    """aiosmtpd on a free port, keeping what it receives."""

    port: int = field(default_factory=free_port)
    received: list[Mail] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802  # aiosmtpd's hook name
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        part = message.get_body(preferencelist=("plain", "html"))
        body = part.get_content() if part is not None else ""
        html = [p.get_content() for p in message.walk() if p.get_content_type() == "text/html"]
        self.received.append(Mail(list(envelope.rcpt_tos), str(message["subject"]), body, html))
        return "250 OK"

    def start(self) -> SmtpServer:
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def url(self, to: str) -> str:
        return f"mailto://127.0.0.1:{self.port}?to={to}&from=rehab@ngo.example&mode=insecure"

    def to(self, address: str) -> list[Mail]:
        return [m for m in self.received if address in m.to]


@dataclass
class HttpReceiver:
    """An HTTP endpoint for apprise's json:// that fails its first `fail_first` requests
    (`fail_first=-1`: always)."""

    fail_first: int = 0
    port: int = field(default_factory=free_port)
    calls: int = 0
    received: list[dict[str, Any]] = field(default_factory=list)

    def start(self) -> HttpReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # http.server's hook name
                length = int(self.headers.get("Content-Length", 0))
                payload = json.loads(self.rfile.read(length) or b"{}")
                receiver.calls += 1
                failing = receiver.fail_first < 0 or receiver.calls <= receiver.fail_first
                if not failing:
                    receiver.received.append(payload)
                self.send_response(500 if failing else 200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()  # a short poll: each stop waits for one
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        return f"json://127.0.0.1:{self.port}/notify"
