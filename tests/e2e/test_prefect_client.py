"""The engine's Prefect clients against a real server: one client serves call after call (no
new SSL context or CSRF token per call), and a new auth string, after `rehab auth rotate`,
gets a client of its own; a client the server refused is not lent again."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from prefect.settings import (
    PREFECT_API_AUTH_STRING,
    PREFECT_API_URL,
    PREFECT_CLIENT_CSRF_SUPPORT_ENABLED,
    temporary_settings,
)

from flows.prefect import client as clients
from flows.prefect.ops import cancelled_runs
from tests.e2e.harness import AUTH, PrefectServer

pytestmark = pytest.mark.e2e


def test_calls_share_one_client_until_the_auth_string_changes(
    prefect_server: PrefectServer,
) -> None:
    server = {
        PREFECT_API_URL: prefect_server.api,
        PREFECT_API_AUTH_STRING: AUTH,
        PREFECT_CLIENT_CSRF_SUPPORT_ENABLED: True,
    }
    clients.close_all()
    made = clients.clients_made()
    with temporary_settings(updates=server):
        for _ in range(5):
            cancelled_runs(datetime.now(UTC))
    assert clients.clients_made() == made + 1, "five calls, one client"

    with temporary_settings(updates=server | {PREFECT_API_AUTH_STRING: "rehab:not-it"}):
        with pytest.raises(httpx.HTTPStatusError) as refused:
            cancelled_runs(datetime.now(UTC))
        assert refused.value.response.status_code == 401
        with pytest.raises(httpx.HTTPStatusError):
            cancelled_runs(datetime.now(UTC))
    assert clients.clients_made() == made + 3, "a refused client is made again, not kept"

    with temporary_settings(updates=server):
        cancelled_runs(datetime.now(UTC))
    assert clients.clients_made() == made + 3, "the right string's client was kept"
    clients.close_all()
