"""The notifier port: send one message through each of a recipient's channels. Apprise is the
real one; the recording fake beside it is for unit tests of the outbox logic."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Protocol

import apprise


@dataclass(frozen=True)
class Delivery:
    """Which channels (by position in the recipient's `notify` list) took the message."""

    ok: tuple[int, ...]
    failed: tuple[int, ...]

    @property
    def delivered(self) -> bool:
        """Delivered if any channel took it."""
        return bool(self.ok)


class Notifier(Protocol):
    """Sends a message through a list of channel URLs."""

    def send(self, urls: list[str], subject: str, body: str) -> Delivery:
        """Try every channel; report which worked."""
        ...


class AppriseNotifier:
    """Apprise, one channel at a time, so a failure is known per channel."""

    def __init__(self, *, throttle: float | None = None) -> None:
        self._throttle = throttle
        self._log = logging.getLogger("rehab.notify")

    def send(self, urls: list[str], subject: str, body: str) -> Delivery:
        """Try every channel; `notify()` answers falsy on failure (it does not raise)."""
        ok: list[int] = []
        failed: list[int] = []
        for position, url in enumerate(urls):
            plugin = apprise.Apprise.instantiate(url)
            if plugin is None:
                failed.append(position)
                continue
            if self._throttle is not None:
                plugin.request_rate_per_sec = self._throttle
            try:
                sent = plugin.notify(title=subject, body=body)
            except Exception:  # a plugin bug must count as a failed channel, not stop the outbox
                self._log.exception("channel %d raised", position)
                sent = False
            (ok if sent else failed).append(position)
        return Delivery(tuple(ok), tuple(failed))


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
