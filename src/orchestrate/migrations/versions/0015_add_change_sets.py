"""Add change_sets and change_set_members: one change across several repositories,
its pull requests merged in dependency order.

One member per (change set, repository), at ``position`` in merge order.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 14:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import orchestrate.core.db

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "change_sets",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("poll_round", sa.Integer(), nullable=False),
        sa.Column("created_at", orchestrate.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", orchestrate.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", orchestrate.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change_sets")),
    )
    with op.batch_alter_table("change_sets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_change_sets_state"), ["state"], unique=False)
    op.create_table(
        "change_set_members",
        sa.Column("change_set_id", sa.String(length=40), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("repository", sa.String(length=200), nullable=False),
        sa.Column("repository_key", sa.String(length=200), nullable=False),
        sa.Column("agent_id", sa.String(length=40), nullable=True),
        sa.Column("depends_on", orchestrate.core.db.JSONDocument, nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("pr_number", sa.Integer(), nullable=True),
        sa.Column("pr_url", sa.String(length=1000), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("merged_at", orchestrate.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["change_set_id"],
            ["change_sets.id"],
            name=op.f("fk_change_set_members_change_set_id_change_sets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("change_set_id", "position", name=op.f("pk_change_set_members")),
        sa.UniqueConstraint(
            "change_set_id",
            "repository_key",
            name=op.f("uq_change_set_members_change_set_id_repository_key"),
        ),
    )
    with op.batch_alter_table("change_set_members", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_change_set_members_agent_id"), ["agent_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("change_set_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_change_set_members_agent_id"))
    op.drop_table("change_set_members")
    with op.batch_alter_table("change_sets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_change_sets_state"))
    op.drop_table("change_sets")
