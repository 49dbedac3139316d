"""Add dashboard sessions: a browser signed in with an API token.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 19:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import orchestrate.core.db

revision: str = "0017"
down_revision: str | Sequence[str] | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dashboard_sessions",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("token_id", sa.String(length=40), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("created_at", orchestrate.core.db.UTCDateTime(), nullable=False),
        sa.Column("expires_at", orchestrate.core.db.UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", orchestrate.core.db.UTCDateTime(), nullable=False),
        sa.Column("revoked_at", orchestrate.core.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["token_id"], ["api_tokens.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("secret_hash"),
    )
    with op.batch_alter_table("dashboard_sessions") as batch:
        batch.create_index("ix_dashboard_sessions_token_id", ["token_id"], unique=False)
        batch.create_index("ix_dashboard_sessions_expires_at", ["expires_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("dashboard_sessions") as batch:
        batch.drop_index("ix_dashboard_sessions_expires_at")
        batch.drop_index("ix_dashboard_sessions_token_id")
    op.drop_table("dashboard_sessions")
