"""The App of a flow-run process: built once per process, from the environment `rehab up` set."""

from __future__ import annotations

from functools import cache

from flows.app import App


@cache
def app() -> App:
    """This process's composition root."""
    return App()
