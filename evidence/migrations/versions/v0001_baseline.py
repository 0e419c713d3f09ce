"""The ledger as the code before migrations created it (main at 15e2780, `metadata.create_all`).

Revision ID: v0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "v0001"
down_revision: str | None = None
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite numbers rows itself only for INTEGER keys


def upgrade() -> None:
    """The two append-only tables: the chained records and the rows of each hold's states."""
    op.create_table(
        "evidence_record",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("controller", sa.String(100), nullable=False),
        sa.Column("sequence", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("request_id", sa.String(300), nullable=False),
        sa.Column("flow_run_id", sa.String(36)),
        sa.Column("recorded", sa.DateTime(timezone=True), nullable=False),
        sa.Column("previous", sa.String(64), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.UniqueConstraint("controller", "sequence", name="evidence_record_place"),
    )
    op.create_index("evidence_record_request", "evidence_record", ["request_id"])
    op.create_index("evidence_record_month", "evidence_record", ["controller", "recorded"])
    op.create_table(
        "hold",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("record_id", ID, sa.ForeignKey("evidence_record.id"), nullable=False),
        sa.Column("hold_key", sa.String(500), nullable=False),
        sa.Column("request_id", sa.String(300), nullable=False),
        sa.Column("controller", sa.String(100), nullable=False),
        sa.Column("member_id", sa.String(100), nullable=False),
        sa.Column("system", sa.String(100), nullable=False),
        sa.Column("rule", sa.String(100), nullable=False),
        sa.Column("categories", sa.Text, nullable=False),
        sa.Column("fields", sa.Text, nullable=False),
        sa.Column("basis", sa.String(200), nullable=False),
        sa.Column("citation", sa.Text, nullable=False),
        sa.Column("retain_until", sa.Date, nullable=False),
        sa.Column("due_on", sa.Date, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("flow_run_id", sa.String(36)),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("extra", sa.Text, nullable=False),
    )
    op.create_index("hold_versions", "hold", ["hold_key", "id"])
    op.create_index("hold_due", "hold", ["due_on", "status"])
    op.create_index("hold_request", "hold", ["request_id"])


def downgrade() -> None:
    """No ledger."""
    op.drop_table("hold")
    op.drop_table("evidence_record")
