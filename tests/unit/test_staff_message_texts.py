"""Staff have the door, not a shell (security.md rule 4): no message text, in any language,
tells its reader to run a `rehab` command or to say who she is with `--by`."""

from __future__ import annotations

import re

import yaml

from flows.cli import cli
from notifications.render import CATALOG, LANGUAGES

COMMAND = re.compile(rf"\brehab ({'|'.join(map(re.escape, sorted(cli.commands)))})\b")


def test_no_message_text_in_any_language_names_a_rehab_command_or_by() -> None:
    found = []
    for language in LANGUAGES:
        catalog = yaml.safe_load((CATALOG / f"{language}.yaml").read_text(encoding="utf-8"))
        for kind, parts in catalog.items():
            for part, text in parts.items():
                if COMMAND.search(text) or "--by" in text:
                    found.append(f"{language}:{kind}.{part}")
    assert found == []


def test_the_pattern_finds_a_command_as_the_old_texts_had_it() -> None:
    assert COMMAND.search("Close it with: rehab step complete BC-1 talk --by YOU")
    assert not COMMAND.search("This is a test message from rehab to check this channel.")
