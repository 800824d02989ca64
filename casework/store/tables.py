"""The case store's tables. Personal data and free-text notes are only ever stored sealed."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class UTCDateTime(TypeDecorator[datetime]):
    """Stored as naive UTC on every database; always read back as an aware UTC datetime."""

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the case store; pass an aware one")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )
    type_annotation_map: dict[Any, Any] = {datetime: UTCDateTime, dict[str, Any]: JSON}


class StoreMeta(Base):
    """Facts about the store itself, e.g. a check value that proves the secret key is right."""

    __tablename__ = "store_meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[bytes] = mapped_column(LargeBinary)


class CaseRow(Base):
    """One person's case: its current plan revision, state and when the engine next looks."""

    __tablename__ = "cases"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    episode: Mapped[int] = mapped_column(default=1)  # a relaunch after termination is a new one
    state: Mapped[str] = mapped_column(String(24), index=True)
    manager: Mapped[str] = mapped_column(String(64), index=True)
    supervisor: Mapped[str] = mapped_column(String(64))
    template: Mapped[str | None] = mapped_column(String(64))
    revision: Mapped[int] = mapped_column(default=1)
    start: Mapped[datetime]
    approved_at: Mapped[datetime | None]
    # A plan awaiting approval its supervisor sent back: by whom and when, until it is amended.
    sent_back_by: Mapped[str | None] = mapped_column(String(64))
    sent_back_at: Mapped[datetime | None]
    reason: Mapped[str | None] = mapped_column(String(200))
    # Where a case closed `transferred` went: an organisation's name, screened like a step
    # title; never sent to Prefect (casework/domain/closing.py).
    closed_to: Mapped[str | None] = mapped_column(String(120))
    person_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    # Where stores before the keyring kept the case's wrapped data key; opening the store moves
    # it to the keyring beside the master key (store/keyring.py) and leaves None here.
    data_key_wrapped: Mapped[bytes | None] = mapped_column(LargeBinary)
    purged_at: Mapped[datetime | None]  # erased: its person, notes and data key destroyed
    # A purged case's tombstone keeps only what the programme report counts: kinds of help,
    # partners, outcomes and their times; no step id, title, note or message
    # (casework/store/purged_history.py).
    purged_history: Mapped[dict[str, Any] | None]
    flow_run_id: Mapped[str | None] = mapped_column(String(64))
    wake_at: Mapped[datetime | None] = mapped_column(index=True)
    wakes: Mapped[int] = mapped_column(default=0)
    # Set when the engine could not tend the case (security.md rule 13): it gets no more wakes
    # until an amendment, a relaunch or its end; the reason names codes and ids only.
    quarantined_at: Mapped[datetime | None]
    quarantine_reason: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": version}  # SQLAlchemy's declarative API

    revisions: Mapped[list[PlanRevisionRow]] = relationship(
        back_populates="case", order_by="PlanRevisionRow.revision"
    )
    steps: Mapped[list[StepRow]] = relationship(back_populates="case", order_by="StepRow.id")
    consents: Mapped[list[ConsentRow]] = relationship(order_by="ConsentRow.id")


class PlanRevisionRow(Base):
    """One revision of a case's plan, without personal data; amendments add revisions."""

    __tablename__ = "plan_revisions"
    __table_args__ = (UniqueConstraint("case_id", "episode", "revision"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    episode: Mapped[int]
    revision: Mapped[int]
    plan: Mapped[dict[str, Any]]
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    case: Mapped[CaseRow] = relationship(back_populates="revisions")


class StepRow(Base):
    """What has happened to one step of one episode of a case."""

    __tablename__ = "steps"
    __table_args__ = (UniqueConstraint("case_id", "episode", "step_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    episode: Mapped[int]
    step_id: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(24))
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    overdue_level: Mapped[int] = mapped_column(default=0)
    reason: Mapped[str | None] = mapped_column(String(200))
    # Added by an amendment the supervisor has not approved yet: it may not start.
    needs_approval: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Its partner's referral: pending, sent, withdrawn or dead (null: before this was kept).
    referral: Mapped[str | None] = mapped_column(String(16))
    accepted: Mapped[bool | None]  # its partner's answer to the referral, through its link
    acknowledge_told: Mapped[bool | None]  # the manager was told the referral went unanswered
    answered_at: Mapped[datetime | None]  # when its partner answered the referral
    # When its next check-in falls (open steps only), kept for the staff's day page.
    next_check_in_at: Mapped[datetime | None] = mapped_column(index=True)
    case: Mapped[CaseRow] = relationship(back_populates="steps")
    check_ins: Mapped[list[CheckInRow]] = relationship(order_by="CheckInRow.seq")


class CheckInRow(Base):
    """One check-in of a step and its outcome."""

    __tablename__ = "check_ins"
    __table_args__ = (UniqueConstraint("step_row_id", "seq"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    step_row_id: Mapped[int] = mapped_column(ForeignKey("steps.id"), index=True)
    seq: Mapped[int]
    at: Mapped[datetime]
    outcome: Mapped[str] = mapped_column(String(16))
    recorded_by: Mapped[str | None] = mapped_column(String(64))
    recorded_at: Mapped[datetime | None]
    note_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    escalated: Mapped[bool] = mapped_column(default=False, server_default=false())


class ConsentRow(Base):
    """A consent decision: scope, given/refused/withdrawn, by whom, when. Never updated."""

    __tablename__ = "consents"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    episode: Mapped[int]
    scope: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    by: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]
    note_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)


class OutboxRow(Base):
    """A message to send; the key (case, step, kind, occurrence, recipient) is unique."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(400), unique=True)
    case_code: Mapped[str] = mapped_column(String(40), index=True)
    step_id: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    occurrence: Mapped[str] = mapped_column(String(64))
    recipient: Mapped[str] = mapped_column(String(80))
    due_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class AuditRow(Base):
    """Who did what to which case, when. Append-only: the database refuses updates and deletes,
    and each row carries an HMAC of the one before (casework/store/audit_chain.py)."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    case_code: Mapped[str | None] = mapped_column(String(40), index=True)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    note_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    row_hash: Mapped[str | None] = mapped_column(String(64))
    key_id: Mapped[str | None] = mapped_column(String(16))  # None: a SHA-256 row from before


class ImportedCaseRow(Base):
    """A case that began before rehab, as it was brought in (`rehab case import`): when the
    person was identified and how the case ended before rehab (None: it was open), kept
    apart from the case row, which a later launch moves on. The record as imported is
    sealed with the case's data key, so importing it again can tell "already there"."""

    __tablename__ = "imported_cases"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), unique=True)
    identified_on: Mapped[date] = mapped_column(Date, index=True)
    closed_on: Mapped[date | None] = mapped_column(Date, index=True)
    outcome: Mapped[str | None] = mapped_column(String(16))  # completed|cancelled|terminated
    rule: Mapped[str | None] = mapped_column(String(64))  # the rule broken, if terminated
    record_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    imported_by: Mapped[str] = mapped_column(String(64))
    imported_at: Mapped[datetime]


class DecisionRow(Base):
    """A decision a person must take (a kind in casework/domain/decision_kinds), its run."""

    __tablename__ = "decisions"
    __table_args__ = (UniqueConstraint("case_id", "episode", "kind", "scope"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    episode: Mapped[int]
    kind: Mapped[str] = mapped_column(String(16))  # casework/domain/decision_kinds.KINDS
    scope: Mapped[str] = mapped_column(String(64), default="")
    flow_run_id: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="waiting")  # waiting | decided
    decision: Mapped[str | None] = mapped_column(String(16))  # approved | given | refused
    decided_by: Mapped[str | None] = mapped_column(String(64))
    settled: Mapped[bool] = mapped_column(default=False)  # its flow run was told and ended
    created_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")  # forms refused


class DirectorySeenRow(Base):
    """The digest of a directory file as last recorded in the audit log (`directory-changed`):
    one row per directory, written by whichever reader first sees a new digest."""

    __tablename__ = "directories_seen"
    directory: Mapped[str] = mapped_column(String(16), primary_key=True)  # partners | staff
    file: Mapped[str] = mapped_column(Text)
    digest: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime]


class ReportReleaseRow(Base):
    """One table of one published report: aggregates only (its cells as published), kept so
    later releases are checked against it (report.md rule 5)."""

    __tablename__ = "report_releases"
    __table_args__ = (Index("ix_report_releases_table", "table_name", "basis"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    release_id: Mapped[str] = mapped_column(String(40))
    table_name: Mapped[str] = mapped_column(String(8))
    basis: Mapped[str] = mapped_column(String(12))
    kind: Mapped[str] = mapped_column(String(16))
    period_start: Mapped[str] = mapped_column(String(10))  # ISO dates, local
    period_end: Mapped[str] = mapped_column(String(10))  # exclusive
    created_at: Mapped[datetime]
    cells: Mapped[list[Any]] = mapped_column(JSON)  # [code1, code2, count, flag, as_of]
