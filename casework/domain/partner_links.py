"""A partner's link (security.md rule 12): a capability to answer one question about one step
of one case, signed under a key on the key mount, bound to the case, step, occurrence, partner
and choice, and expiring. Pure: the key is handed in; whether it was used is the store's.

A token is `<payload>.<mac>`, both base64url without padding: the payload is the JSON list
`[case, step, occurrence, partner, choice, expires (epoch seconds)]`, the mac HMAC-SHA256 of
`partner-link|<payload>` under the link key. Nothing in it is about the person.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from casework.domain.errors import LinkRefused

# What each question offers, in the order the message lists them.
CHOICES: dict[str, tuple[str, ...]] = {
    "referral": ("accept", "decline"),
    "check-in": ("attended", "missed", "another-date"),
}
QUESTION_OF = {choice: question for question, cs in CHOICES.items() for choice in cs}
DECLINE_REASONS = ("no-capacity", "not-our-service", "cannot-reach", "other")
# How long a link works: a referral's from when it is sent, a check-in's from the check-in.
REFERRAL_VALID = timedelta(days=14)
CHECK_IN_VALID = timedelta(days=7)
_DOMAIN = b"partner-link|"
MAX_TOKEN = 600  # longer than any link we make: refused before any decoding


@dataclass(frozen=True)
class Link:
    """One link: `occurrence` is `e<episode>` for a referral, `e<episode>.<n>` for check-in
    number n (from 0)."""

    case: str
    step: str
    occurrence: str
    partner: str
    choice: str
    expires: datetime

    @property
    def question(self) -> str:
        """`referral` or `check-in`."""
        return QUESTION_OF[self.choice]

    @property
    def slot(self) -> str:
        """What one answer uses up: the referral, the check-in's outcome, or the one request
        for another date of a check-in (which leaves its outcome still to report)."""
        return "another-date" if self.choice == "another-date" else self.question

    @property
    def episode(self) -> int | None:
        """The case's episode the link is about."""
        head = self.occurrence.split(".")[0].removeprefix("e")
        return int(head) if head.isdigit() else None

    @property
    def seq(self) -> int | None:
        """The check-in's number, for a check-in's link."""
        _, dot, tail = self.occurrence.partition(".")
        return int(tail) if dot and tail.isdigit() else None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if _b64(data) != text:  # one spelling per token: no other text decodes to the same bytes
        raise ValueError("not canonical base64url")
    return data


def _mac(key: bytes, payload: str) -> bytes:
    return hmac.new(key, _DOMAIN + payload.encode(), hashlib.sha256).digest()


def sign(link: Link, key: bytes) -> str:
    """The token of `link` under `key`."""
    if link.choice not in QUESTION_OF:
        raise ValueError(f"no such choice {link.choice!r}")
    fields = [link.case, link.step, link.occurrence, link.partner, link.choice]
    payload = _b64(json.dumps([*fields, int(link.expires.timestamp())]).encode())
    return f"{payload}.{_b64(_mac(key, payload))}"


def read(token: str, key: bytes, *, now: datetime) -> Link:
    """The link a token carries, if `key` signed it and it has not expired; else LinkRefused
    (`unknown` for anything not signed by us, `expired`)."""
    payload, dot, mac = token.partition(".")
    if not dot or len(token) > MAX_TOKEN:
        raise LinkRefused("unknown")
    try:
        good = hmac.compare_digest(_unb64(mac), _mac(key, payload))
    except (binascii.Error, ValueError):
        raise LinkRefused("unknown") from None
    if not good:
        raise LinkRefused("unknown")
    try:
        case, step, occurrence, partner, choice, expires = json.loads(_unb64(payload))
    except ValueError:  # signed by us, so never; but never a traceback either
        raise LinkRefused("unknown") from None
    link = Link(case, step, occurrence, partner, choice, datetime.fromtimestamp(expires, UTC))
    if now >= link.expires:
        raise LinkRefused("expired", link)
    return link


def referral_links(
    case: str, step: str, episode: int, partner: str, *, sent: datetime
) -> list[Link]:
    """The links a referral carries: accept, decline."""
    expires = sent + REFERRAL_VALID
    return [Link(case, step, f"e{episode}", partner, c, expires) for c in CHOICES["referral"]]


def check_in_links(  # noqa: PLR0917  # what a link is bound to, each needed
    case: str, step: str, episode: int, seq: int, partner: str, check_in: datetime
) -> list[Link]:
    """The links a check-in's reminder carries: attended, did not come, another date."""
    expires = check_in + CHECK_IN_VALID
    occurrence = f"e{episode}.{seq}"
    return [Link(case, step, occurrence, partner, c, expires) for c in CHOICES["check-in"]]
