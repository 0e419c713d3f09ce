"""Suppressions: a withdrawn or erased member's contact values as keyed references, so a re-sync adding them
back is found and undone.

Rows are written by the record that seals them (`record_id`); `reference` is a keyed HMAC of an e-mail
address or phone number (domain.values.contact_reference), never the value itself.

Revision ID: v0003
Revises: v0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "v0003"
down_revision: str | None = "v0002"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """The table and its two look-ups: by controller and reference (the sweep), by request (the register)."""
    op.create_table(
        "suppression",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("record_id", ID, sa.ForeignKey("evidence_record.id"), nullable=False),
        sa.Column("controller", sa.String(100), nullable=False),
        sa.Column("request_id", sa.String(300), nullable=False),
        sa.Column("subject_ref", sa.String(100), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("reference", sa.String(100), nullable=False),
        sa.Column("reason", sa.String(20), nullable=False),
    )
    op.create_index("suppression_reference", "suppression", ["controller", "reference"])
    op.create_index("suppression_request", "suppression", ["request_id"])


def downgrade() -> None:
    """Without suppressions (a re-added member is no longer found)."""
    op.drop_table("suppression")
