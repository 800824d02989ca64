"""staff lockouts (refused codes counted across processes) and the directories' last digests

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

ENGINE_ROLE = "rehab_engine"


def upgrade() -> None:
    op.create_table(
        "directories_seen",
        sa.Column("directory", sa.String(length=16), nullable=False),
        sa.Column("file", sa.Text(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("directory", name=op.f("pk_directories_seen")),
    )
    op.create_table(
        "staff_lockouts",
        sa.Column("staff_id", sa.String(length=64), nullable=False),
        sa.Column("locked_at", sa.DateTime(), nullable=True),
        sa.Column("locked_until", sa.DateTime(), nullable=True),
        sa.Column("locks", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("staff_id", name=op.f("pk_staff_lockouts")),
    )
    op.create_table(
        "staff_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_failures")),
    )
    op.create_index(
        "ix_staff_failures_staff_at", "staff_failures", ["staff_id", "at"], unique=False
    )
    if op.get_bind().dialect.name == "postgresql":
        # The engine's role (0005) counts failures and records directory digests too.
        op.execute(f"""
            DO $$
            BEGIN
                IF EXISTS (SELECT FROM pg_roles WHERE rolname = '{ENGINE_ROLE}') THEN
                    GRANT SELECT, INSERT, UPDATE, DELETE
                        ON directories_seen, staff_lockouts, staff_failures TO {ENGINE_ROLE};
                    GRANT USAGE, SELECT ON SEQUENCE staff_failures_id_seq TO {ENGINE_ROLE};
                END IF;
            EXCEPTION WHEN insufficient_privilege THEN
                RAISE NOTICE 'no grants to {ENGINE_ROLE}: the migrating user may not grant';
            END $$""")


def downgrade() -> None:
    op.drop_index("ix_staff_failures_staff_at", table_name="staff_failures")
    op.drop_table("staff_failures")
    op.drop_table("staff_lockouts")
    op.drop_table("directories_seen")
