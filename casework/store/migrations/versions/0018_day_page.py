"""the staff's day page: when each open step's next check-in falls, kept on the step

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("steps") as batch:
        batch.add_column(sa.Column("next_check_in_at", sa.DateTime(), nullable=True))
        batch.create_index(op.f("ix_steps_next_check_in_at"), ["next_check_in_at"])
    # Filled in as each case is saved; a living case is woken once now so that it is.
    op.execute(
        "UPDATE cases SET wake_at = updated_at "
        "WHERE state = 'active' AND wake_at IS NOT NULL AND quarantined_at IS NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("steps") as batch:
        batch.drop_index(op.f("ix_steps_next_check_in_at"))
        batch.drop_column("next_check_in_at")
