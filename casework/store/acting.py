"""Which door session a change comes through: every audit row written while one is set names
it (security.md: an action at the door is an audit row naming her and her session)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_session: ContextVar[str | None] = ContextVar("rehab_door_session", default=None)


@contextmanager
def through_session(session: str) -> Iterator[None]:
    """Name `session` in every audit row written inside the block (in this thread)."""
    token = _session.set(session)
    try:
        yield
    finally:
        _session.reset(token)


def current_session() -> str | None:
    """The door session the current change comes through, if any."""
    return _session.get()
