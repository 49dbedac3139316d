"""Add webhook deliveries: what GitHub sent, and what processing did with it.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 17:21:57.391570
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import orchestrate.core.db

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("delivery_id", sa.String(length=100), nullable=False),
        sa.Column("event", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=100), nullable=True),
        sa.Column("repository", sa.String(length=300), nullable=True),
        sa.Column("headers", orchestrate.core.db.JSONDocument, nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("received_at", orchestrate.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("processed_at", orchestrate.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("result", orchestrate.core.db.JSONDocument, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
        sa.UniqueConstraint("delivery_id", name=op.f("uq_webhook_deliveries_delivery_id")),
    )
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_webhook_deliveries_event"), ["event"], unique=False)
        batch_op.create_index(
            "ix_webhook_deliveries_received_at_id", ["received_at", "id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_webhook_deliveries_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhook_deliveries_status"))
        batch_op.drop_index("ix_webhook_deliveries_received_at_id")
        batch_op.drop_index(batch_op.f("ix_webhook_deliveries_event"))

    op.drop_table("webhook_deliveries")
