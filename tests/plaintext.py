"""Looking for a person's data in what a store keeps: a dump of its rows, or its raw files."""

from __future__ import annotations

import re

# What holds digits by chance and can hold no one's data: a digest or token in hex (32
# characters and more), a moment (a datetime's repr, or a time of day with its fraction of a
# second). Taken out before a number is looked for; everything else is searched as it is.
_CHANCE = re.compile(r"[0-9a-f]{32,}|datetime\.(?:datetime|date|time)\([^)]*\)|\d\d:\d\d:\d\d\.\d+")


def shows(value: str, dump: str | bytes) -> bool:
    """Whether `value` is in the dump, anywhere, in any company (a phone number inside a
    longer one, a year after `=` or `/`). A number is looked for once digests and moments
    are taken out: "1979" turns up in them by chance (about one run in a hundred)."""
    if isinstance(dump, bytes):  # a raw file: the value as UTF-8 writes it
        if not value.isdigit():
            return value.encode() in dump
        dump = dump.decode("latin-1")
    if not value.isdigit():
        return value in dump
    return value in _CHANCE.sub(" ", dump)
