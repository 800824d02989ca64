"""The links a partner's message carries (security.md rule 12): a referral's accept and
decline, a reminder's attended, did not come and another date, each `<door>/p/<token>`,
signed under the link key on the key mount. Plain text: no tracking, no images."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from casework.domain.case import Case
from casework.domain.partner_links import check_in_links, referral_links, sign
from casework.store.tables import CaseRow, OutboxRow
from notifications.context import reminded_check_in
from notifications.render import phrase


@dataclass(frozen=True)
class PartnerLinks:
    """Where the door is as partners open it, and the key links are signed under."""

    public_url: str
    key: bytes

    def url(self, token: str) -> str:
        """The door's page of one link."""
        return f"{self.public_url.rstrip('/')}/p/{token}"

    def for_message(
        self, row: OutboxRow, case_row: CaseRow, case: Case, *, now: datetime, language: str
    ) -> list[tuple[str, str]]:
        """(label, URL) of each link the message carries, in the partner's language."""
        kind, _, partner = row.recipient.partition(":")
        if kind != "partner" or not row.step_id:
            return []
        if row.kind == "referral":
            links = referral_links(case.code, row.step_id, case_row.episode, partner, sent=now)
        elif row.kind == "reminder":
            at = reminded_check_in(case, row)
            seq = row.occurrence.split("@")[0]
            if at is None or not seq.isdigit():
                return []
            links = check_in_links(case.code, row.step_id, case_row.episode, int(seq), partner, at)
        else:
            return []
        return [
            (phrase(language, f"choice-{link.choice}"), self.url(sign(link, self.key)))
            for link in links
        ]
