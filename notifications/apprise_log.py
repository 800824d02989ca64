"""What apprise says about one notify, for the operator: apprise tells a failure only by
returning False, and writes why to its logger. Its logger also writes whole URLs (tokens,
passwords) and message texts, so nothing of it reaches a log: records are held only while a
channel is tried on the same thread, and what is shown of them has the URL's parts removed."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from urllib.parse import parse_qsl, unquote

_held: ContextVar[list[logging.LogRecord] | None] = ContextVar("rehab_apprise_held", default=None)
_ERRNO = re.compile(r"\[Errno -?\d+\][^'\")\]]*")  # the socket's own words, no address in them
_ANY_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://\S+", re.IGNORECASE)
_MASKED = re.compile(r"\S\.\.\.\S")  # apprise's own half-masking ("s...w") keeps two letters
MIN_PART = 3  # shorter pieces of a URL ("to", a port like 25) are words of any message


class _Holder(logging.Filter):
    """Keeps a record only for the notify being tried on this thread, and lets none through:
    no handler, on apprise's logger or above it, ever sees what apprise logs."""

    def filter(self, record: logging.LogRecord) -> bool:
        held = _held.get()
        if held is not None:
            held.append(record)
        return False


_HOLDER = _Holder()


def quiet_apprise() -> None:
    """Apprise's logger hands its records to no handler (a filter takes them all); only
    `held_records` sees what it says."""
    logger = logging.getLogger("apprise")
    if _HOLDER not in logger.filters:
        logger.addFilter(_HOLDER)
    logger.propagate = False
    logger.setLevel(logging.DEBUG)


@contextmanager
def held_records() -> Iterator[list[logging.LogRecord]]:
    """What apprise logs on this thread inside the block."""
    held: list[logging.LogRecord] = []
    token = _held.set(held)
    try:
        yield held
    finally:
        _held.reset(token)


def _said(record: logging.LogRecord) -> str:
    try:
        return record.getMessage()
    except (TypeError, ValueError):  # a plugin's malformed log call
        return str(record.msg)


def url_parts(url: str) -> list[str]:
    """Every piece of `url` that may be secret (user, password, host, token, path, query
    values), raw and decoded, longest first."""
    rest = url.partition("://")[2]
    body, _, query = rest.partition("?")
    pieces = [rest, body, *re.split(r"[/:@,;+\s]", body)]
    for _, value in parse_qsl(query, keep_blank_values=False):
        pieces += [value, *re.split(r"[,;+\s@]", value)]
    found = {p for piece in pieces for p in (piece, unquote(piece)) if len(p) >= MIN_PART}
    return sorted(found, key=len, reverse=True)


def without_secrets(text: str, url: str) -> str:
    """`text` with every URL, and every part of `url`, replaced by `***`."""
    text = _ANY_URL.sub("***", text)
    for part in url_parts(url):
        text = text.replace(part, "***")
    return " ".join(_MASKED.sub("***", text).split())


def why_failed(records: list[logging.LogRecord], url: str) -> str:
    """One line: apprise's warnings and errors for one notify, then the socket error behind
    them, with the URL's secrets removed."""
    warned = dict.fromkeys(_said(r).rstrip(". ") for r in records if r.levelno >= logging.WARNING)
    errors = [m.group(0).strip() for r in records if (m := _ERRNO.search(_said(r)))]
    said = "; ".join(warned)
    if errors and errors[-1] not in said:
        said = f"{said} ({errors[-1]})" if said else errors[-1]
    return without_secrets(said, url) or "apprise said nothing about why"
