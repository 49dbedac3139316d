"""Add pull_requests: the pull requests Orchestrate opened for agent runs.

One per (repository, branch) — ``repository_key`` is the name case-folded, as the
registry compares names — which makes opening one idempotent across retries.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 09:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import orchestrate.core.db

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pull_requests",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("forge", sa.String(length=20), nullable=False),
        sa.Column("repository", sa.String(length=200), nullable=False),
        sa.Column("repository_key", sa.String(length=200), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=1000), nullable=False),
        sa.Column("branch", sa.String(length=300), nullable=False),
        sa.Column("base", sa.String(length=300), nullable=False),
        sa.Column("head_sha", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("draft", sa.Boolean(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("story_id", sa.String(length=40), nullable=True),
        sa.Column("agent_id", sa.String(length=40), nullable=True),
        sa.Column("opened_at", orchestrate.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", orchestrate.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("merged_at", orchestrate.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pull_requests")),
        sa.UniqueConstraint(
            "repository_key", "branch", name=op.f("uq_pull_requests_repository_key_branch")
        ),
    )
    with op.batch_alter_table("pull_requests", schema=None) as batch_op:
        batch_op.create_index(
            "ix_pull_requests_repository_key_number", ["repository_key", "number"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_pull_requests_agent_id"), ["agent_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_pull_requests_story_id"), ["story_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("pull_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pull_requests_story_id"))
        batch_op.drop_index(batch_op.f("ix_pull_requests_agent_id"))
        batch_op.drop_index("ix_pull_requests_repository_key_number")
    op.drop_table("pull_requests")
