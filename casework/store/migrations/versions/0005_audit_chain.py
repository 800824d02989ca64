"""the audit log as evidence: each row chained to the one before by a hash; on PostgreSQL, a
role for the engine that may only add to it

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""
from datetime import UTC

import sqlalchemy as sa
from alembic import op

from casework.store.audit_chain import GENESIS, HEAD, row_hash

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

ENGINE_ROLE = "rehab_engine"


def upgrade() -> None:
    op.add_column("audit_log", sa.Column("prev_hash", sa.String(64), nullable=True))
    op.add_column("audit_log", sa.Column("row_hash", sa.String(64), nullable=True))
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"
    # Rows written before the chain are chained now, in the order they were written: the
    # append-only triggers step aside for this one migration.
    if postgres:
        op.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
    else:
        op.execute("DROP TRIGGER audit_log_no_update")
    log = sa.table("audit_log", sa.column("id"), sa.column("at", sa.DateTime()),
                   sa.column("case_code"), sa.column("actor"), sa.column("action"),
                   sa.column("detail", sa.JSON()), sa.column("note_sealed", sa.LargeBinary()),
                   sa.column("prev_hash"), sa.column("row_hash"))
    prev = GENESIS
    for row in bind.execute(sa.select(log).order_by(log.c.id)).mappings().all():
        at = row["at"] if row["at"].tzinfo else row["at"].replace(tzinfo=UTC)
        this = row_hash(prev, at=at, case_code=row["case_code"], actor=row["actor"],
                        action=row["action"], detail=row["detail"] or {},
                        note_sealed=row["note_sealed"])
        bind.execute(log.update().where(log.c.id == row["id"])
                     .values(prev_hash=prev, row_hash=this))
        prev = this
    meta = sa.table("store_meta", sa.column("key"), sa.column("value", sa.LargeBinary()))
    bind.execute(meta.insert().values(key=HEAD, value=prev.encode()))
    if postgres:
        op.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only")
        _engine_role()
    else:
        op.execute("""CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
            BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END""")


def _engine_role() -> None:
    """A role the engine may run as: everything it does, but only INSERT (and read) on the
    audit log. Making it needs CREATEROLE; without it, say so and go on."""
    op.execute(f"""
        DO $$
        BEGIN
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{ENGINE_ROLE}') THEN
                CREATE ROLE {ENGINE_ROLE} NOLOGIN;
            END IF;
            EXECUTE format('GRANT CONNECT ON DATABASE %I TO {ENGINE_ROLE}', current_database());
            GRANT USAGE ON SCHEMA public TO {ENGINE_ROLE};
            GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {ENGINE_ROLE};
            GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {ENGINE_ROLE};
            REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM {ENGINE_ROLE};
        EXCEPTION WHEN insufficient_privilege THEN
            RAISE NOTICE 'no role {ENGINE_ROLE} made: the migrating user may not create roles';
        END $$""")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
    else:
        op.execute("DROP TRIGGER audit_log_no_update")
    op.execute(f"DELETE FROM store_meta WHERE key = '{HEAD}'")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_column("row_hash")
        batch_op.drop_column("prev_hash")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only")
    else:
        op.execute("""CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
            BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END""")
