"""Add worker heartbeats: one row per live worker process, refreshed every few seconds.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07 01:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import orchestrate.core.db

revision: str = "0024"
down_revision: str | Sequence[str] | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "worker_heartbeats",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("hostname", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(length=50), nullable=False),
        sa.Column("started_at", orchestrate.core.db.UTCDateTime(), nullable=False),
        sa.Column("last_heartbeat_at", orchestrate.core.db.UTCDateTime(), nullable=False),
        sa.Column("running_jobs", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("worker_heartbeats") as batch:
        batch.create_index(
            "ix_worker_heartbeats_last_heartbeat_at", ["last_heartbeat_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("worker_heartbeats") as batch:
        batch.drop_index("ix_worker_heartbeats_last_heartbeat_at")
    op.drop_table("worker_heartbeats")
