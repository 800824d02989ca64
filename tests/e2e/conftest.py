"""One Prefect server and one runner for the end-to-end tests that share them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from prefect.client.orchestration import SyncPrefectClient
from prefect.settings import (
    PREFECT_API_AUTH_STRING,
    PREFECT_API_URL,
    PREFECT_CLIENT_CSRF_SUPPORT_ENABLED,
    temporary_settings,
)

from flows.prefect import client as clients
from tests.e2e.harness import AUTH, PrefectServer, Rehab, example_directories


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrefectServer]:
    server = PrefectServer(tmp_path_factory.mktemp("prefect")).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def rehab(
    prefect_server: PrefectServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Rehab]:
    engine = Rehab(
        Path(tmp_path_factory.mktemp("rehab-home")), prefect_server, **example_directories()
    )
    engine.start_runner()
    try:
        yield engine
    finally:
        engine.stop_door()
        engine.stop_runner()


@pytest.fixture
def client(prefect_server: PrefectServer) -> Iterator[SyncPrefectClient]:
    """The engine's own Prefect client, talking to the shared server as rehab does."""
    server = {
        PREFECT_API_URL: prefect_server.api,
        PREFECT_API_AUTH_STRING: AUTH,
        PREFECT_CLIENT_CSRF_SUPPORT_ENABLED: True,
    }
    with temporary_settings(updates=server), clients.prefect_client() as made:
        yield made
    clients.close_all()
