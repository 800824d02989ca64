"""cases brought in from before rehab: when the person was identified, how the case ended

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "imported_cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("identified_on", sa.Date(), nullable=False),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("rule", sa.String(length=64), nullable=True),
        sa.Column("record_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("imported_by", sa.String(length=64), nullable=False),
        sa.Column("imported_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name="fk_imported_cases_case_id_cases"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_imported_cases"),
        sa.UniqueConstraint("case_id", name="uq_imported_cases_case_id"),
    )
    op.create_index("ix_imported_cases_identified_on", "imported_cases", ["identified_on"])
    op.create_index("ix_imported_cases_closed_on", "imported_cases", ["closed_on"])


def downgrade() -> None:
    op.drop_index("ix_imported_cases_closed_on", table_name="imported_cases")
    op.drop_index("ix_imported_cases_identified_on", table_name="imported_cases")
    op.drop_table("imported_cases")
