"""Apprise channels: checking a notify URL before it is ever needed."""

from __future__ import annotations

import functools

import apprise

from notifications.apprise_log import quiet_apprise
from notifications.notifier import scheme


@functools.lru_cache(maxsize=4096)  # a directory read again checks the same URLs again
def check_url(url: str) -> str | None:
    """None if apprise can use `url`; otherwise why not, without echoing its secrets."""
    kind = scheme(url)
    if kind == "unknown":
        return "not an apprise URL: expected scheme://..., e.g. mailto://user:pass@host?to=addr"
    quiet_apprise()
    try:
        plugin = apprise.Apprise.instantiate(url)
    except Exception:  # a plugin that raises on a malformed URL: its message may quote it
        plugin = None
    if plugin is None:
        return (
            f"apprise cannot use this {kind}:// URL (unknown scheme or malformed); "
            "see the apprise wiki for its form, e.g. mailto://user:pass@host?to=addr"
        )
    return None
