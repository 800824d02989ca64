"""Apprise channels: checking a notify URL before it is ever needed."""

from __future__ import annotations

import logging

import apprise


def check_url(url: str) -> str | None:
    """None if apprise can use `url`; otherwise why not, without echoing its secrets."""
    scheme = url.split("://", 1)[0] if "://" in url else ""
    if not scheme:
        return "not an apprise URL: expected scheme://..., e.g. mailto://user:pass@host?to=addr"
    logger = logging.getLogger("apprise")
    level = logger.level
    logger.setLevel(logging.CRITICAL)  # apprise logs the whole URL, secrets included
    try:
        plugin = apprise.Apprise.instantiate(url)
    finally:
        logger.setLevel(level)
    if plugin is None:
        return (f"apprise cannot use this {scheme}:// URL (unknown scheme or malformed); "
                "see the apprise wiki for its form, e.g. mailto://user:pass@host?to=addr")
    return None
