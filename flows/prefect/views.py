"""The saved views of the Runs page (Prefect's saved searches): every living plan, the plans
waiting on people, the plans that need attention, whatever their age.

A view selects by the tags the engine keeps true on each plan's run (flows/shown/tags.py). The UI
applies a date range to every view and, when a view has none, uses the past 7 days; so each
view carries one that spans all time, and a plan launched years ago is found."""

from __future__ import annotations

from typing import Any

from prefect.client.orchestration import get_client

# The range as the UI stores it (`{"type": "range", ...}`); it filters on the run's start.
ALL_TIME = {
    "type": "range",
    "startDate": "2000-01-01T00:00:00.000Z",
    "endDate": "2999-12-31T23:59:59.000Z",
}

VIEWS: dict[str, list[str]] = {
    "living plans": ["living"],  # every plan run whose plan has not ended
    "waiting on people": ["waiting"],  # for a supervisor's approval or a person's consent
    "needs attention": ["attention"],  # a step overdue or a check-in missed
}


def view_filters(tags: list[str]) -> list[dict[str, Any]]:
    """A saved search's filters in the shape the Prefect UI writes and reads them."""
    common = {"object": "flowRun", "type": "", "operation": ""}
    return [
        {**common, "property": "tag", "value": tags},
        {**common, "property": "range", "value": ALL_TIME},
    ]


def ensure_views() -> list[str]:
    """Create or reset the saved views (the API replaces a search of the same name, so this
    is idempotent across restarts); returns their names."""
    with get_client(sync_client=True) as client:
        for name, tags in VIEWS.items():
            client.request(
                "PUT", "/saved_searches/", json={"name": name, "filters": view_filters(tags)}
            ).raise_for_status()
    return list(VIEWS)
