"""a plan awaiting approval may be sent back to its case manager: who sent it and when

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

from casework.store.tables import UTCDateTime

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("sent_back_by", sa.String(64), nullable=True))
        batch.add_column(sa.Column("sent_back_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("sent_back_at")
        batch.drop_column("sent_back_by")
