"""The ledger's schema, created and upgraded by alembic revisions (evidence/migrations/versions/).

A ledger written before migrations (main at 15e2780 created its tables with `create_all` and kept no version)
is taken to be at the baseline revision and upgraded from there. The version is kept in a table of its own
name, so a ledger in the database or schema of Prefect (which has its own `alembic_version`) never mixes them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

if TYPE_CHECKING:
    from alembic.config import Config

VERSION_TABLE = "ledger_version"
BASELINE = "v0001"  # what `create_all` made before migrations
HEAD = "v0004"  # the newest revision (tests/evidence/test_schema.py holds it to the revisions' head)


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration for the ledger's revisions, migrating on `connection`."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", "evidence:migrations")
    config.attributes["connection"] = connection
    return config


def current_revision(connection: Connection) -> str | None:
    """The revision the ledger's schema is at; None for no ledger or one from before migrations."""
    if not inspect(connection).has_table(VERSION_TABLE):
        return None
    return connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()  # noqa: S608 - ours


def upgrade(connection: Connection) -> None:
    """Bring the ledger's schema to the newest revision, within the caller's transaction."""
    if current_revision(connection) == HEAD:
        return  # as it is every time but the first: alembic is not even imported
    from alembic import command

    if connection.dialect.name == "postgresql":
        # Processes opening the ledger at once (workers, the CLI) upgrade one after the other.
        connection.execute(text("SELECT pg_advisory_xact_lock(hashtextextended('slett-ledger-schema', 0))"))
    config = alembic_config(connection)
    if current_revision(connection) is None and inspect(connection).has_table("evidence_record"):
        command.stamp(config, BASELINE)
    command.upgrade(config, "head")
