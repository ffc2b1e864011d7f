"""Alembic environment: runs on the connection creditline hands it (see migrate.py)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from creditline.adapters.db.tables import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)

with context.begin_transaction():
    if connection.dialect.name == "postgresql":
        # Two processes migrating at once: the second waits, then finds the schema current.
        connection.execute(text("SELECT pg_advisory_xact_lock(727274)"))
    context.run_migrations()
