"""Alembic environment: runs on the connection :func:`fabrx_pharma_supervision.migrate.upgrade` passes."""

from alembic import context

from fabrx_pharma_supervision.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
