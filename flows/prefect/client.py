"""Long-lived Prefect clients, shared by every call the engine makes in this process.

A fresh client costs about 35 ms of CPU (it builds an SSL context, even for a plain `http`
address) and one more request for its CSRF token, which the server writes to its database;
a wake made several. Here a client is made once and lent to one caller at a time: its CSRF
token is its own, so two threads never race to replace each other's. The clock's follow-up
threads live for one tick, so clients are kept in a pool, not per thread.

A client belongs to one server and auth string (PREFECT_API_URL, PREFECT_API_AUTH_STRING in
Prefect's settings as they are now): `rehab auth rotate` restarts the runner with the new
string, and a process whose settings change in place gets new clients all the same. A
client that met a broken connection or a refused auth is closed rather than lent again, so
the next call connects afresh (a restarted server, a new auth string)."""

from __future__ import annotations

import atexit
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import httpx
from prefect.client.orchestration import SyncPrefectClient, get_client
from prefect.settings import PREFECT_API_AUTH_STRING, PREFECT_API_KEY, PREFECT_API_URL

Where = tuple[str | None, str | None, str | None]

_lock = threading.Lock()
_idle: dict[Where, list[SyncPrefectClient]] = {}
_made = {"clients": 0}  # how many this process made (the benchmark and tests read it)


def _where() -> Where:
    """The server and credentials a client made now would use."""
    return PREFECT_API_URL.value(), PREFECT_API_AUTH_STRING.value(), PREFECT_API_KEY.value()


def clients_made() -> int:
    """How many clients this process has made so far."""
    return _made["clients"]


@contextmanager
def prefect_client() -> Iterator[SyncPrefectClient]:
    """A started client for this caller alone until the block ends; it then goes back to the
    pool, unless the block failed on the connection or the auth (then it is closed)."""
    where = _where()
    with _lock:
        idle = _idle.get(where)
        client = idle.pop() if idle else None
    if client is None:
        client = _new(where)
        client.__enter__()
        with _lock:
            _made["clients"] += 1
    try:
        yield client
    except (httpx.TransportError, httpx.HTTPStatusError) as exc:
        refused = isinstance(exc, httpx.HTTPStatusError) and exc.response.status_code in (
            401,
            403,
        )
        if isinstance(exc, httpx.TransportError) or refused:
            _close(client)
        else:
            _give_back(where, client)
        raise
    except BaseException:
        _give_back(where, client)
        raise
    else:
        _give_back(where, client)


def _new(where: Where) -> SyncPrefectClient:
    # Made directly, not by get_client: inside a flow run that returns the run's own client,
    # which ends with the run and must not be kept here.
    url, auth, key = where
    if url is None:
        return get_client(sync_client=True)  # Prefect's own rules (an ephemeral server)
    return SyncPrefectClient(url, auth_string=auth, api_key=key)


def _give_back(where: Where, client: SyncPrefectClient) -> None:
    with _lock:
        _idle.setdefault(where, []).append(client)


def _close(client: SyncPrefectClient) -> None:
    with suppress(Exception):  # closing a client whose connection broke may fail the same way
        client.__exit__(None, None, None)


@atexit.register
def close_all() -> None:
    """Close every idle client (at process exit, and in tests between servers)."""
    with _lock:
        clients = [c for idle in _idle.values() for c in idle]
        _idle.clear()
    for client in clients:
        _close(client)
