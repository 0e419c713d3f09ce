"""Alembic's environment for the ledger: migrations run on the connection `evidence.schema.upgrade` hands over."""

from __future__ import annotations

from alembic import context

from evidence.schema import VERSION_TABLE

connection = context.config.attributes["connection"]
# The caller's transaction holds the whole upgrade: it commits all revisions or none.
context.configure(connection=connection, version_table=VERSION_TABLE, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
