"""The notifier port: send one message through each of a recipient's channels. Apprise is the
real one; the recording fake beside it is for unit tests of the outbox logic."""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Protocol

import apprise
from apprise.plugins import url_to_dict

from notifications import smtp_pool
from notifications.apprise_log import held_records, quiet_apprise, why_failed


@dataclass(frozen=True)
class Delivery:
    """Which channels (by position in the recipient's `notify` list) took the message, and
    for a failed one, why in one line without its secrets (when the notifier knows)."""

    ok: tuple[int, ...]
    failed: tuple[int, ...]
    reasons: tuple[tuple[int, str], ...] = ()

    def reason(self, position: int) -> str | None:
        """Why the channel at `position` failed, if known."""
        return dict(self.reasons).get(position)

    @property
    def delivered(self) -> bool:
        """Delivered if any channel took it."""
        return bool(self.ok)


class Notifier(Protocol):
    """Sends a message through a list of channel URLs."""

    def send(self, urls: list[str], subject: str, body: str) -> Delivery:
        """Try every channel; report which worked."""
        ...


def scheme(url: str) -> str:
    """The channel's kind (`mailto`, `tgram`, ...): all of a URL that may be shown or logged."""
    head, sep, _ = url.partition("://")
    return head.lower() if sep and head.isalnum() else "unknown"


class AppriseNotifier:
    """Apprise, one channel at a time, so a failure is known per channel."""

    def __init__(self, *, throttle: float | None = None) -> None:
        self._throttle = throttle
        self._log = logging.getLogger("rehab.notify")
        self.pool: smtp_pool.Pool | None = None
        quiet_apprise()
        smtp_pool.install()

    @contextmanager
    def batch(self) -> Iterator[None]:
        """E-mail sent inside the block, from any thread, reuses open connections to the same
        server (notifications/smtp_pool.py); they are closed at its end."""
        if self.pool is not None:  # already inside one
            yield
            return
        self.pool = smtp_pool.Pool()
        try:
            yield
        finally:
            pool, self.pool = self.pool, None
            pool.close()

    def send(self, urls: list[str], subject: str, body: str) -> Delivery:
        """Try every channel. The text is declared plain, so apprise escapes it for HTML and
        Markdown channels: nothing typed into a plan becomes a live link or image."""
        ok: list[int] = []
        failed: list[int] = []
        reasons: list[tuple[int, str]] = []
        for position, url in enumerate(urls):
            with held_records() as said:
                try:
                    sent = self._send_one(url, subject, body)
                    why = None if sent else why_failed(said, url)
                except Exception as exc:  # a plugin bug is a failed channel, not a stopped outbox
                    # The exception's text may quote the URL: name the channel, never its address.
                    self._log.warning(
                        "channel #%d (%s) raised %s", position, scheme(url), type(exc).__name__
                    )
                    sent, why = False, f"apprise raised {type(exc).__name__}"
            (ok if sent else failed).append(position)
            if why is not None:
                reasons.append((position, why))
        return Delivery(tuple(ok), tuple(failed), tuple(reasons))

    def _send_one(self, url: str, subject: str, body: str) -> bool:
        plugin = apprise.Apprise.instantiate(_tokens(url) or url)
        if plugin is None:
            return False
        if self._throttle is not None:
            plugin.request_rate_per_sec = self._throttle
        pool = self.pool
        with pool.using() if pool is not None else nullcontext():
            # notify() answers falsy on failure (it does not raise).
            sent = plugin.notify(title=subject, body=body, body_format=apprise.NotifyFormat.TEXT)
        return bool(sent)


@lru_cache(maxsize=256)
def _parsed(url: str) -> dict[str, Any] | None:
    secure = apprise.AppriseAsset().secure_logging
    tokens: dict[str, Any] | None = url_to_dict(url, secure_logging=secure)  # type: ignore[no-untyped-call]  # apprise leaves it untyped
    return tokens


def _tokens(url: str) -> dict[str, Any] | None:
    """The URL as apprise parses it, parsed once per URL: parsing costs more than the plugin
    it makes. A fresh copy each time, so each message still gets a plugin of its own (and
    apprise's throttle, per plugin, stays as it was). None if apprise cannot parse it: then
    the URL itself is given, so that apprise says why again."""
    tokens = _parsed(url)
    return copy.deepcopy(tokens) if tokens is not None else None


def batch(notifier: Notifier) -> AbstractContextManager[None]:
    """The notifier's `batch()` block if it has one (apprise's does), else nothing."""
    begin = getattr(notifier, "batch", None)
    return begin() if callable(begin) else nullcontext()


@dataclass
class RecordingNotifier:
    """A fake for unit tests: records what would be sent; fails the URLs it is told to."""

    failing: set[str] = field(default_factory=set)
    sent: list[tuple[str, str, str]] = field(default_factory=list)

    def send(self, urls: list[str], subject: str, body: str) -> Delivery:
        """Record each channel that does not fail."""
        ok: list[int] = []
        failed: list[int] = []
        for position, url in enumerate(urls):
            if url in self.failing:
                failed.append(position)
            else:
                ok.append(position)
                self.sent.append((url, subject, body))
        return Delivery(tuple(ok), tuple(failed))
