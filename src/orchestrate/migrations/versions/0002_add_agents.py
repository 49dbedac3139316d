"""Add agent runs, transcripts, provider calls and tool calls

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import orchestrate.core.db

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "agents",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("type", sa.String(length=100), nullable=False),
        sa.Column("state", sa.String(length=30), nullable=False),
        sa.Column("task", sa.Text(), nullable=False),
        sa.Column("story_id", sa.String(length=40), nullable=True),
        sa.Column("parent_id", sa.String(length=40), nullable=True),
        sa.Column("provider", sa.String(length=1000), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("repo_path", sa.String(length=1000), nullable=True),
        sa.Column("workspace_path", sa.String(length=1000), nullable=True),
        sa.Column("branch", sa.String(length=300), nullable=True),
        sa.Column("base_ref", sa.String(length=300), nullable=True),
        sa.Column("base_commit", sa.String(length=64), nullable=True),
        sa.Column("limits", orchestrate.core.db.JSONDocument, nullable=False),
        sa.Column("record_path", sa.String(length=1000), nullable=True),
        sa.Column("control", sa.String(length=20), nullable=True),
        sa.Column("turns", sa.Integer(), nullable=False),
        sa.Column("input_tokens", sa.BigInteger(), nullable=False),
        sa.Column("output_tokens", sa.BigInteger(), nullable=False),
        sa.Column("cache_read_tokens", sa.BigInteger(), nullable=False),
        sa.Column("cache_write_tokens", sa.BigInteger(), nullable=False),
        sa.Column("cost_usd", sa.Numeric(precision=14, scale=6), nullable=False),
        sa.Column("active_seconds", sa.Double(), nullable=False),
        sa.Column("finish_status", sa.String(length=20), nullable=True),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.Column("created_at", orchestrate.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", orchestrate.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", orchestrate.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", orchestrate.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["agents.id"],
            name=op.f("fk_agents_parent_id_agents"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agents")),
    )
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.create_index("ix_agents_created_at_id", ["created_at", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_agents_parent_id"), ["parent_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_agents_state"), ["state"], unique=False)
        batch_op.create_index(batch_op.f("ix_agents_story_id"), ["story_id"], unique=False)

    op.create_table(
        "agent_calls",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("agent_id", sa.String(length=40), nullable=False),
        sa.Column("turn", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("input_tokens", sa.BigInteger(), nullable=False),
        sa.Column("output_tokens", sa.BigInteger(), nullable=False),
        sa.Column("cache_read_tokens", sa.BigInteger(), nullable=False),
        sa.Column("cache_write_tokens", sa.BigInteger(), nullable=False),
        sa.Column("cost_usd", sa.Numeric(precision=14, scale=6), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("created_at", orchestrate.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_agent_calls_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_calls")),
    )
    with op.batch_alter_table("agent_calls", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_agent_calls_agent_id"), ["agent_id"], unique=False)

    op.create_table(
        "agent_messages",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("agent_id", sa.String(length=40), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("content", orchestrate.core.db.JSONDocument, nullable=False),
        sa.Column("created_at", orchestrate.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_agent_messages_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_messages")),
        sa.UniqueConstraint("agent_id", "seq", name=op.f("uq_agent_messages_agent_id_seq")),
    )
    op.create_table(
        "agent_tool_calls",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("agent_id", sa.String(length=40), nullable=False),
        sa.Column("tool_use_id", sa.String(length=200), nullable=False),
        sa.Column("turn", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("input", orchestrate.core.db.JSONDocument, nullable=False),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("output", sa.Text(), nullable=True),
        sa.Column("is_error", sa.Boolean(), nullable=False),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("created_at", orchestrate.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", orchestrate.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_agent_tool_calls_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_tool_calls")),
        sa.UniqueConstraint(
            "agent_id", "tool_use_id", name=op.f("uq_agent_tool_calls_agent_id_tool_use_id")
        ),
    )


def downgrade() -> None:
    op.drop_table("agent_tool_calls")
    op.drop_table("agent_messages")
    with op.batch_alter_table("agent_calls", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agent_calls_agent_id"))

    op.drop_table("agent_calls")
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agents_story_id"))
        batch_op.drop_index(batch_op.f("ix_agents_state"))
        batch_op.drop_index(batch_op.f("ix_agents_parent_id"))
        batch_op.drop_index("ix_agents_created_at_id")

    op.drop_table("agents")
