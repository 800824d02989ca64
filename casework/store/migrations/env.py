"""Alembic environment: migrations run on a connection the store hands over."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from casework.store.tables import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    if connection.dialect.name == "postgresql":
        # Two processes starting at once must not both migrate.
        connection.execute(text("SELECT pg_advisory_xact_lock(7247322)"))
    context.run_migrations()
