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

# The files whose tests wait longest (seconds each, summed by file, in a run one test at a time:
# `pytest tests/e2e --durations=0`), handed to the workers first, so that the last file a
# worker takes is a short one and the workers end together. A file not named comes after them.
LONGEST_FIRST = (
    "test_partner_links.py",  # 92 s
    "test_plan_lifecycle.py",  # 91
    "test_recovery.py",  # 76
    "test_run_tags.py",  # 72
    "test_up.py",  # 68
    "test_engine_socket.py",  # 66
    "test_scale_out.py",  # 60
    "test_purge_files.py",  # 53
    "test_ui_actions.py",  # 51
    "test_staff_day_browser.py",  # 43
    "test_readme_day.py",  # 40
    "test_endings.py",  # 38
    "test_artifacts.py",  # 37
    "test_door_browser.py",  # 35
    "test_rotation_live.py",  # 28
    "test_auth_rotate.py",  # 28
    "test_up_views.py",  # 22
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The end-to-end files, longest first (the order xdist hands them out with
    `--dist loadfile --no-loadscope-reorder`); the tests within a file keep their order."""
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    here = Path(__file__).parent

    def key(item: pytest.Item) -> int:
        if item.path.parent != here:
            return -1  # another tier's test: where it was, before these
        return rank.get(item.path.name, len(rank))

    items.sort(key=key)


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
