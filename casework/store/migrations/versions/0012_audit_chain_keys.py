"""the audit chain under a key on the key mount: each row names the audit key its HMAC was made
with; rows without one are the SHA-256 chain written before (casework/store/audit_mount.py)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Additive: a new nullable column, so the append-only triggers are never touched and the
    # rows already written keep their SHA-256 chain as they are.
    op.add_column("audit_log", sa.Column("key_id", sa.String(16), nullable=True))


def downgrade() -> None:
    # ALTER TABLE ... DROP COLUMN on both databases (SQLite >= 3.35): the table is not
    # rebuilt, so its append-only triggers stay.
    op.drop_column("audit_log", "key_id")
