"""Add notification channels and the log of notifications sent through them.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07 01:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import orchestrate.core.db

revision: str = "0023"
down_revision: str | Sequence[str] | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notification_channels",
        sa.Column("name", sa.String(length=63), nullable=False),
        sa.Column("type", sa.String(length=20), nullable=False),
        sa.Column("config", orchestrate.core.db.JSONDocument, nullable=False),
        sa.Column("secrets", orchestrate.core.db.JSONDocument, nullable=False),
        sa.Column("created_at", orchestrate.core.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", orchestrate.core.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "notification_log",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("channel", sa.String(length=63), nullable=False),
        sa.Column("notification_id", sa.String(length=200), nullable=False),
        sa.Column("group_key", sa.Text(), nullable=False),
        sa.Column("group_hash", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("sent_at", orchestrate.core.db.UTCDateTime(), nullable=False),
        sa.Column("queued_at", orchestrate.core.db.UTCDateTime(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("notification_log") as batch:
        batch.create_index("ix_notification_log_notification_id", ["notification_id"], unique=False)
        batch.create_index("ix_notification_log_sent_at", ["sent_at"], unique=False)
        batch.create_index(
            "ix_notification_log_channel_group",
            ["channel", "group_hash", "outcome"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("notification_log") as batch:
        batch.drop_index("ix_notification_log_channel_group")
        batch.drop_index("ix_notification_log_sent_at")
        batch.drop_index("ix_notification_log_notification_id")
    op.drop_table("notification_log")
    op.drop_table("notification_channels")
