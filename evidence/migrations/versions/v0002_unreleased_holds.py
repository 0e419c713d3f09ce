"""Unreleased holds in a table of their own, and hold rows found by their record.

`unreleased_hold` names each hold's newest row while it is not released (held, failed, in review): the sweep
selects its due holds from it, and the register a request's standing holds, instead of finding each hold's
newest row among all its rows. It is derived from `hold` (append-only, sealed) and kept in the transaction that
seals; `slett evidence --verify` checks it against `hold`. `hold_record` finds a stretch of records' hold rows.

Revision ID: v0002
Revises: v0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "v0002"
down_revision: str | None = "v0001"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """The table, filled from the hold rows the ledger already has, and the index by record."""
    op.create_table(
        "unreleased_hold",
        sa.Column("hold_key", sa.String(500), primary_key=True),
        sa.Column("hold_id", ID, sa.ForeignKey("hold.id"), nullable=False, unique=True),
        sa.Column("controller", sa.String(100), nullable=False),
        sa.Column("request_id", sa.String(300), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("due_on", sa.Date, nullable=False),
    )
    op.create_index("unreleased_hold_due", "unreleased_hold", ["status", "due_on"])
    op.create_index("unreleased_hold_request", "unreleased_hold", ["request_id"])
    op.create_index("hold_record", "hold", ["record_id"])
    op.execute(
        "INSERT INTO unreleased_hold (hold_key, hold_id, controller, request_id, status, due_on) "
        "SELECT h.hold_key, h.id, h.controller, h.request_id, h.status, h.due_on FROM hold h "
        "JOIN (SELECT max(id) AS id FROM hold GROUP BY hold_key) newest ON newest.id = h.id "
        "WHERE h.status <> 'released'")


def downgrade() -> None:
    """Back to finding each hold's newest row among all its rows."""
    op.drop_index("hold_record", "hold")
    op.drop_table("unreleased_hold")
