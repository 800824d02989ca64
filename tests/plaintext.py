"""Looking for a person's data in what a store keeps: a dump of its rows, or its raw files."""

from __future__ import annotations

import re

# Around a number that stands alone: not a digit or letter, nor base64's other characters.
_TOKEN = "0-9A-Za-z+/="


def shows(value: str, dump: str | bytes) -> bool:
    """Whether `value` is in the dump. A number counts only standing alone: "1979" also turns
    up inside hashes, hex strings and sealed bytes by chance (in about one run in a hundred),
    where it says nothing of anyone."""
    if isinstance(dump, bytes):  # a raw file: the value as UTF-8 writes it
        return shows(value, dump.decode("latin-1")) if value.isdigit() else value.encode() in dump
    if not value.isdigit():
        return value in dump
    return re.search(rf"(?<![{_TOKEN}]){value}(?![{_TOKEN}])", dump) is not None
