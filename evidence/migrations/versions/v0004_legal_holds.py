"""Legal holds a person sets (the police, a legal claim, a dispute): one row per state, set or lifted.

Rows are written with the record that seals them (`record_id`); the newest row of a member's category at a
processor is its state (evidence/legal_holds.py).

Revision ID: v0004
Revises: v0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "v0004"
down_revision: str | None = "v0003"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """The table, looked up by member, processor and category, newest row last."""
    op.create_table(
        "legal_hold",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("record_id", ID, sa.ForeignKey("evidence_record.id"), nullable=False),
        sa.Column("controller", sa.String(100), nullable=False),
        sa.Column("member_id", sa.String(100), nullable=False),
        sa.Column("system", sa.String(100), nullable=False),
        sa.Column("category", sa.String(100), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("set_by", sa.String(200), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_on", sa.Date),
        sa.Column("lifted_by", sa.String(200)),
        sa.Column("lifted_on", sa.Date),
        sa.Column("status", sa.String(16), nullable=False),
    )
    op.create_index("legal_hold_member", "legal_hold", ["controller", "member_id", "system", "category", "id"])


def downgrade() -> None:
    """Without legal holds set by a person."""
    op.drop_table("legal_hold")
