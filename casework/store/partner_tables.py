"""The answers partners gave through their links: one row per question, so a link works once
and a second use shows what was recorded. Deleted with the case's other rows by a purge."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from casework.store.tables import Base, UTCDateTime


class PartnerAnswerRow(Base):
    """One question answered: which case, step, question (`referral`, `check-in`) and
    occurrence, by which partner, what was chosen (with the reason or date asked), when."""

    __tablename__ = "partner_answers"
    __table_args__ = (UniqueConstraint("case_code", "step_id", "question", "occurrence"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    case_code: Mapped[str] = mapped_column(String(32), index=True)
    step_id: Mapped[str] = mapped_column(String(64))
    question: Mapped[str] = mapped_column(String(16))
    occurrence: Mapped[str] = mapped_column(String(16))
    partner: Mapped[str] = mapped_column(String(64))
    choice: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str | None] = mapped_column(String(32))
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime())
