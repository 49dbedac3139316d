"""Add metric counters: totals the metrics consumer folds from the event log.

Revision ID: 0020
Revises: 0018
Create Date: 2026-12-07 00:10:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import orchestrate.core.db

revision: str = "0020"
# 0018 and 0019 are written on other branches; this is re-chained after them at merge.
down_revision: str | Sequence[str] | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "metric_counters",
        sa.Column("sample", sa.String(length=100), nullable=False),
        sa.Column("labels", sa.String(length=1000), nullable=False),
        sa.Column("value", sa.Double(), nullable=False),
        sa.Column("updated_at", orchestrate.core.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("sample", "labels"),
    )


def downgrade() -> None:
    op.drop_table("metric_counters")
