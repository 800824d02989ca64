"""Partners' signed one-time links (issue 22, security.md rule 12): the token alone, fast. A
link cannot be guessed, altered, moved to another case or used after it expires."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from pathlib import Path

import pytest

from casework.domain.errors import LinkRefused
from casework.domain.partner_links import (
    CHECK_IN_VALID,
    REFERRAL_VALID,
    Link,
    check_in_links,
    read,
    referral_links,
    sign,
)
from casework.store.errors import SecretKeyExposed
from casework.store.link_key import LinkKey
from tests.conftest import T0

KEY = bytes(range(32))


def accept() -> Link:
    return referral_links("BC-2026-0042", "medical-check", 1, "brest-clinic", sent=T0)[0]


def refused(token: str, *, key: bytes = KEY, at: timedelta = timedelta(0)) -> str:
    with pytest.raises(LinkRefused) as caught:
        read(token, key, now=T0 + at)
    return caught.value.why


def test_a_signed_link_reads_back_as_it_was_made() -> None:
    link = accept()
    assert read(sign(link, KEY), KEY, now=T0) == link
    assert link.question == "referral" and link.episode == 1 and link.seq is None


def test_a_check_in_link_is_bound_to_its_occurrence_and_expires_a_week_after_it() -> None:
    links = check_in_links("BC-2026-0042", "psychologist", 2, 3, "brest-psychologist", T0)
    assert [link.choice for link in links] == ["attended", "missed", "another-date"]
    assert {(link.episode, link.seq) for link in links} == {(2, 3)}
    token = sign(links[0], KEY)
    assert read(token, KEY, now=T0 + CHECK_IN_VALID - timedelta(seconds=1)) == links[0]
    assert refused(token, at=CHECK_IN_VALID) == "expired"


def test_a_referral_link_expires_after_fourteen_days() -> None:
    token = sign(accept(), KEY)
    assert refused(token, at=REFERRAL_VALID) == "expired"


def test_a_flipped_byte_anywhere_makes_the_link_unknown() -> None:
    token = sign(accept(), KEY)
    for where in range(len(token)):
        for other in ("A", "B", "_"):
            if other != token[where]:
                assert refused(token[:where] + other + token[where + 1 :]) == "unknown"


def test_another_cases_payload_under_this_links_mac_is_unknown() -> None:
    mine, theirs = (
        sign(accept(), KEY),
        sign(
            Link(
                "BC-2026-0057", "medical-check", "e1", "brest-clinic", "accept", T0 + REFERRAL_VALID
            ),
            KEY,
        ),
    )
    assert refused(theirs.split(".")[0] + "." + mine.split(".")[1]) == "unknown"


def test_a_payload_rewritten_to_another_case_is_unknown() -> None:
    payload, mac = sign(accept(), KEY).split(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    data[0] = "BC-2026-0057"
    forged = base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    assert refused(f"{forged}.{mac}") == "unknown"


def test_a_link_signed_under_another_key_and_garbage_are_unknown() -> None:
    assert refused(sign(accept(), bytes(32))) == "unknown"
    for junk in ("", ".", "abc", "a.b", "%%%.***", "x" * 5000):
        assert refused(junk) == "unknown"


def test_the_link_key_is_made_once_on_the_key_mount_and_only_for_its_owner(
    tmp_path: Path,
) -> None:
    key_file = tmp_path / "secret.key"
    first = LinkKey(key_file).secret()
    assert len(first) == 32 and LinkKey(key_file).secret() == first
    path = tmp_path / "secret.key.link-key"
    assert path.stat().st_mode & 0o777 == 0o600
    path.chmod(0o644)
    with pytest.raises(SecretKeyExposed):
        LinkKey(key_file).secret()
