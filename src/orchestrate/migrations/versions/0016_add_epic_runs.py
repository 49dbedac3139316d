"""Add epic runs: every story of an epic driven to a merged pull request.

``epic_runs`` holds each run (one active per epic: the unique ``active_epic_id``),
``epic_run_stories`` each story's progress within it. Stories get ``depends_on`` (the
ids of the stories of their epic they wait for) and ``blocked_reason`` (why a blocked
story is blocked).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 14:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import orchestrate.core.db

revision: str = "0016"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("stories") as batch:
        batch.add_column(sa.Column("depends_on", orchestrate.core.db.JSONDocument, nullable=True))
        batch.add_column(sa.Column("blocked_reason", sa.Text(), nullable=True))
    op.create_table(
        "epic_runs",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("epic_id", sa.String(length=40), nullable=False),
        sa.Column("active_epic_id", sa.String(length=40), nullable=True),
        sa.Column("repository", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("stuck_minutes", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("poll_seq", sa.Integer(), nullable=False),
        sa.Column("started_by", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", orchestrate.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", orchestrate.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", orchestrate.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["epic_id"], ["epics.id"], name=op.f("fk_epic_runs_epic_id_epics"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_epic_runs")),
        sa.UniqueConstraint("active_epic_id", name=op.f("uq_epic_runs_active_epic_id")),
    )
    with op.batch_alter_table("epic_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_epic_runs_epic_id"), ["epic_id"], unique=False)
    op.create_table(
        "epic_run_stories",
        sa.Column("run_id", sa.String(length=40), nullable=False),
        sa.Column("story_id", sa.String(length=40), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("phase", sa.String(length=30), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("review_attempts", sa.Integer(), nullable=False),
        sa.Column("developer_agent_id", sa.String(length=40), nullable=True),
        sa.Column("reviewer_agent_id", sa.String(length=40), nullable=True),
        sa.Column("pull_request_repository", sa.String(length=200), nullable=True),
        sa.Column("pull_request_number", sa.Integer(), nullable=True),
        sa.Column("pull_request_url", sa.String(length=1000), nullable=True),
        sa.Column("review_verdict", sa.String(length=30), nullable=True),
        sa.Column("review_url", sa.String(length=1000), nullable=True),
        sa.Column("waiting_for", sa.Text(), nullable=True),
        sa.Column("blocked_reason", sa.Text(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("progress_at", orchestrate.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", orchestrate.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", orchestrate.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["epic_runs.id"],
            name=op.f("fk_epic_run_stories_run_id_epic_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("run_id", "story_id", name=op.f("pk_epic_run_stories")),
    )


def downgrade() -> None:
    op.drop_table("epic_run_stories")
    with op.batch_alter_table("epic_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_epic_runs_epic_id"))
    op.drop_table("epic_runs")
    with op.batch_alter_table("stories") as batch:
        batch.drop_column("blocked_reason")
        batch.drop_column("depends_on")
