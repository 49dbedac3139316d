"""Add merge policies: per registered repository, what must hold before a merge.

One row per repository that has a policy of its own, keyed by the repository's name
key (like ``repository_dependencies``); a repository without a row has the default
policy (one approval, every reported check green, squash, no automatic merging).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 08:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import orchestrate.core.db

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "merge_policies",
        sa.Column("repository", sa.String(length=200), nullable=False),
        sa.Column("required_approvals", sa.Integer(), nullable=False),
        sa.Column("required_checks", orchestrate.core.db.JSONDocument, nullable=False),
        sa.Column("method", sa.String(length=20), nullable=False),
        sa.Column("auto_merge", sa.Boolean(), nullable=False),
        sa.Column("require_up_to_date", sa.Boolean(), nullable=False),
        sa.Column("count_stale_approvals", sa.Boolean(), nullable=False),
        sa.Column("updated_at", orchestrate.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("repository", name=op.f("pk_merge_policies")),
    )


def downgrade() -> None:
    op.drop_table("merge_policies")
