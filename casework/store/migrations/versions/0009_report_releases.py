"""report releases: the aggregates each published report showed, for the difference rule

Revision ID: 0009
Revises: 0007
Create Date: 2026-11-29
"""
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "report_releases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("release_id", sa.String(length=40), nullable=False),
        sa.Column("table_name", sa.String(length=8), nullable=False),
        sa.Column("basis", sa.String(length=12), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("period_start", sa.String(length=10), nullable=False),
        sa.Column("period_end", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("cells", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_releases")),
    )
    op.create_index(
        "ix_report_releases_table", "report_releases", ["table_name", "basis"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_report_releases_table", table_name="report_releases")
    op.drop_table("report_releases")
