"""partners answer through signed links: the referral's answer on its step, and the answers
given (one per question: a link works once)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("steps") as batch:
        batch.add_column(sa.Column("accepted", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("acknowledge_told", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("answered_at", sa.DateTime(), nullable=True))
    op.create_table(
        "partner_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_code", sa.String(32), nullable=False),
        sa.Column("step_id", sa.String(64), nullable=False),
        sa.Column("question", sa.String(16), nullable=False),
        sa.Column("occurrence", sa.String(16), nullable=False),
        sa.Column("partner", sa.String(64), nullable=False),
        sa.Column("choice", sa.String(16), nullable=False),
        sa.Column("detail", sa.String(32), nullable=True),
        sa.Column("answered_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_answers")),
        sa.UniqueConstraint(
            "case_code",
            "step_id",
            "question",
            "occurrence",
            name=op.f("uq_partner_answers_case_code"),
        ),
    )
    op.create_index(op.f("ix_partner_answers_case_code"), "partner_answers", ["case_code"])


def downgrade() -> None:
    op.drop_index(op.f("ix_partner_answers_case_code"), table_name="partner_answers")
    op.drop_table("partner_answers")
    with op.batch_alter_table("steps") as batch:
        batch.drop_column("answered_at")
        batch.drop_column("acknowledge_told")
        batch.drop_column("accepted")
