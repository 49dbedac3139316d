"""Add the cost ledger and budgets, and the pipeline an agent's work is charged to.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 00:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import orchestrate.core.db

revision: str = "0018"
down_revision: str | Sequence[str] | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cost_entries",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("created_at", orchestrate.core.db.UTCDateTime(), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("provider", sa.String(length=1000), nullable=False),
        sa.Column("agent_id", sa.String(length=40), nullable=False),
        sa.Column("agent_type", sa.String(length=100), nullable=False),
        sa.Column("story_id", sa.String(length=40), nullable=True),
        sa.Column("pipeline", sa.String(length=200), nullable=True),
        sa.Column("pipeline_run_id", sa.String(length=40), nullable=True),
        sa.Column("input_tokens", sa.BigInteger(), nullable=False),
        sa.Column("output_tokens", sa.BigInteger(), nullable=False),
        sa.Column("cache_read_tokens", sa.BigInteger(), nullable=False),
        sa.Column("cache_write_tokens", sa.BigInteger(), nullable=False),
        sa.Column("cost_micros", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("cost_entries") as batch:
        batch.create_index("ix_cost_entries_created_at", ["created_at"], unique=False)
        batch.create_index("ix_cost_entries_agent_id", ["agent_id"], unique=False)
        batch.create_index(
            "ix_cost_entries_agent_type_created_at", ["agent_type", "created_at"], unique=False
        )
        batch.create_index(
            "ix_cost_entries_pipeline_created_at", ["pipeline", "created_at"], unique=False
        )
    op.create_table(
        "cost_budgets",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("scope", sa.String(length=20), nullable=False),
        sa.Column("scope_value", sa.String(length=200), nullable=False),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("limit_micros", sa.BigInteger(), nullable=False),
        sa.Column("warn_at", sa.Numeric(precision=5, scale=4), nullable=False),
        sa.Column("spent_micros", sa.BigInteger(), nullable=False),
        sa.Column("period_start", orchestrate.core.db.UTCDateTime(), nullable=False),
        sa.Column("created_at", orchestrate.core.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", orchestrate.core.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("scope", "scope_value", "period"),
    )
    with op.batch_alter_table("agents") as batch:
        batch.add_column(sa.Column("pipeline", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("pipeline_run_id", sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("agents") as batch:
        batch.drop_column("pipeline_run_id")
        batch.drop_column("pipeline")
    op.drop_table("cost_budgets")
    with op.batch_alter_table("cost_entries") as batch:
        batch.drop_index("ix_cost_entries_pipeline_created_at")
        batch.drop_index("ix_cost_entries_agent_type_created_at")
        batch.drop_index("ix_cost_entries_agent_id")
        batch.drop_index("ix_cost_entries_created_at")
    op.drop_table("cost_entries")
