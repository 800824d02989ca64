"""One Prefect server and one runner for the end-to-end tests that share them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import PrefectServer, Rehab, example_directories


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
