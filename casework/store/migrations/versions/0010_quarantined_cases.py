"""cases the engine could not tend are quarantined: when, and why (codes and ids only)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("cases", sa.Column("quarantined_at", sa.DateTime(), nullable=True))
    op.add_column("cases", sa.Column("quarantine_reason", sa.String(300), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("quarantine_reason")
        batch_op.drop_column("quarantined_at")
