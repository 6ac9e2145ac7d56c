"""Alembic's entry point: run the migrations on the connection it was handed."""

from __future__ import annotations

from alembic import context

from printernizer_usage_server.models import Base

# The service always passes its own connection (see migration.py); there is no
# alembic.ini with a URL, and no offline mode.
context.configure(
    connection=context.config.attributes["connection"],
    target_metadata=Base.metadata,
    # SQLite alters a table by copying it; later revisions need that.
    render_as_batch=True,
)
with context.begin_transaction():
    context.run_migrations()
