"""Runs' inputs (the forms' schemas and descriptions) stored many in one request, through the
route rehab's embedded server adds (flows/processes/prefect_server_inputs.py); one request per
input where that cannot be done: a server without the route, or a run among them gone."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any
from uuid import UUID

import httpx
from prefect.client.orchestration import SyncPrefectClient

BULK_INPUTS_PATH = "/flow_runs/input/bulk"
BULK_INPUTS_LIMIT = 200  # as the route allows

Input = tuple[UUID, str, str]  # the run, the key, the value as stored (JSON text)

_without_route: set[tuple[str, str]] = set()  # (API address, route) its server does not have
_lock = threading.Lock()


def store_inputs(client: SyncPrefectClient, inputs: Sequence[Input]) -> set[UUID]:
    """Store these inputs; an input a run has already is kept. Returns the runs whose inputs
    are all stored."""
    runs = {run for run, _, _ in inputs}
    failed: set[UUID] = set()
    for first in range(0, len(inputs), BULK_INPUTS_LIMIT):
        page = inputs[first : first + BULK_INPUTS_LIMIT]
        if not _bulk(client, page):
            failed |= _one_by_one(client, page)
    return runs - failed


def _bulk(client: SyncPrefectClient, page: Sequence[Input]) -> bool:
    """All of the page in one request; False if that could not be done."""
    body = {"inputs": [{"flow_run_id": str(r), "key": k, "value": v} for r, k, v in page]}
    return post_bulk(client, BULK_INPUTS_PATH, body) is not None


def post_bulk(client: SyncPrefectClient, path: str, body: Any) -> httpx.Response | None:
    """POST to one of the embedded server's own routes; None if that could not be done. A
    server found without the route is not asked again."""
    where = (str(client.api_url), path)
    with _lock:
        if where in _without_route:
            return None
    try:
        return client.request("POST", path, json=body)  # type: ignore[arg-type]  # rehab's own route
    except httpx.HTTPStatusError as exc:
        if exc.response.status_code in (404, 405) and no_such_route(exc.response):
            with _lock:
                _without_route.add(where)
        return None
    except httpx.HTTPError:
        return None


def no_such_route(response: httpx.Response) -> bool:
    """True if a 404 or 405 says the server has no such route (not that a run is gone)."""
    try:
        return bool(response.json().get("detail") in ("Not Found", "Method Not Allowed"))
    except ValueError:
        return True


def _one_by_one(client: SyncPrefectClient, page: Sequence[Input]) -> set[UUID]:
    """Each input in a request of its own; returns the runs one of whose inputs failed."""
    failed = set()
    for run, key, value in page:
        if run in failed:
            continue
        try:
            client.create_flow_run_input(run, key, value)
        except httpx.HTTPStatusError as exc:
            if exc.response.status_code != 409:  # 409: this run has this key already
                failed.add(run)
        except httpx.HTTPError:
            failed.add(run)
    return failed
