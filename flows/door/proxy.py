"""Relaying a signed-in person's requests to Prefect's server behind the door, with the auth
string she never sees: HTTP as it is, websockets with the auth message rewritten."""

from __future__ import annotations

import asyncio
import base64
import json
from contextlib import suppress
from typing import Any

import httpx
import websockets
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket, WebSocketDisconnect

# Headers that belong to one connection, not to the message (RFC 9110 7.6.1), and the ones
# the door sets itself.
_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
        "authorization",
        "cookie",
    }
)
_HOP_RESPONSE = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding"}
)


class Upstream:
    """Prefect's server as the door reaches it: its address and its auth string."""

    def __init__(self, base_url: str, auth_string: str | None) -> None:
        self.base_url = base_url.rstrip("/")
        self.auth_string = auth_string
        headers = {}
        if auth_string:
            token = base64.b64encode(auth_string.encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        self.client = httpx.AsyncClient(
            base_url=self.base_url, headers=headers, timeout=httpx.Timeout(60.0)
        )

    async def close(self) -> None:
        """Close the pooled connections."""
        await self.client.aclose()

    async def forward(self, request: Request, *, body: bytes | None = None) -> Response:
        """Send the request on as it came (her cookie and any Authorization header stripped)
        and return Prefect's answer."""
        headers = [(k, v) for k, v in request.headers.items() if k.lower() not in _HOP]
        content = body if body is not None else await request.body()
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        upstream = await self.client.request(
            request.method,
            target,
            headers=headers,
            content=content,
        )
        return Response(
            content=upstream.content,
            status_code=upstream.status_code,
            headers={k: v for k, v in upstream.headers.items() if k.lower() not in _HOP_RESPONSE},
        )

    async def get_json(self, path: str) -> Any:
        """GET a path of Prefect's API as the door itself; its JSON."""
        response = await self.client.get(path)
        response.raise_for_status()
        return response.json()

    async def relay(self, socket: WebSocket) -> None:
        """Relay a read stream (events, logs): her first message, the auth message, is
        replaced by one carrying the auth string; everything else passes as it is."""
        url = self.base_url.replace("http", "ws", 1) + socket.url.path
        if socket.url.query:
            url += "?" + socket.url.query
        await socket.accept(subprotocol="prefect")
        try:
            first = await socket.receive_json()
        except (WebSocketDisconnect, json.JSONDecodeError, KeyError):
            return
        if not isinstance(first, dict) or first.get("type") != "auth":
            await socket.close(code=1008, reason="Expected 'auth' message")
            return
        async with websockets.connect(url, subprotocols=["prefect"]) as upstream:  # type: ignore[list-item]  # a str is a Subprotocol
            await upstream.send(json.dumps({"type": "auth", "token": self.auth_string}))
            await _pump(socket, upstream)


async def _pump(socket: WebSocket, upstream: Any) -> None:
    async def downstream() -> None:
        async for message in upstream:
            await socket.send_text(message if isinstance(message, str) else message.decode())

    async def upward() -> None:
        while True:
            text = await socket.receive_text()
            await upstream.send(text)

    tasks = [asyncio.create_task(downstream()), asyncio.create_task(upward())]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        with suppress(Exception):
            await socket.close()
