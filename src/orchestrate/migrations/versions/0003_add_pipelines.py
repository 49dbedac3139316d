"""Add pipelines, their runs and steps; agents learn an origin key and a finish notice.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 16:11:56.607611
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import orchestrate.core.db

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pipeline_runs",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("pipeline", sa.String(length=100), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("spec", orchestrate.core.db.JSONDocument, nullable=False),
        sa.Column("inputs", orchestrate.core.db.JSONDocument, nullable=False),
        sa.Column("trigger", orchestrate.core.db.JSONDocument, nullable=False),
        sa.Column("trigger_kind", sa.String(length=20), nullable=False),
        sa.Column("concurrency_group", sa.String(length=300), nullable=True),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("timed_out", sa.Boolean(), nullable=False),
        sa.Column("parent_step_id", sa.String(length=40), nullable=True),
        sa.Column("rerun_of", sa.String(length=40), nullable=True),
        sa.Column("repo_path", sa.String(length=1000), nullable=True),
        sa.Column("workspace_path", sa.String(length=1000), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", orchestrate.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", orchestrate.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", orchestrate.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", orchestrate.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pipeline_runs")),
        sa.UniqueConstraint("pipeline", "number", name=op.f("uq_pipeline_runs_pipeline_number")),
    )
    with op.batch_alter_table("pipeline_runs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_pipeline_runs_concurrency_group"), ["concurrency_group"], unique=False
        )
        batch_op.create_index("ix_pipeline_runs_created_at_id", ["created_at", "id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_pipeline_runs_parent_step_id"), ["parent_step_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_pipeline_runs_status"), ["status"], unique=False)

    op.create_table(
        "pipelines",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("spec", orchestrate.core.db.JSONDocument, nullable=False),
        sa.Column("repo_path", sa.String(length=1000), nullable=True),
        sa.Column("source_path", sa.String(length=1000), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("next_number", sa.Integer(), nullable=False),
        sa.Column("created_at", orchestrate.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", orchestrate.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pipelines")),
        sa.UniqueConstraint("name", name=op.f("uq_pipelines_name")),
    )
    op.create_table(
        "pipeline_steps",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("run_id", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("step_id", sa.String(length=100), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("parent_key", sa.String(length=100), nullable=True),
        sa.Column("matrix", orchestrate.core.db.JSONDocument, nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("conclusion", sa.String(length=20), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("outputs", orchestrate.core.db.JSONDocument, nullable=False),
        sa.Column("skip_reason", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("agent_id", sa.String(length=40), nullable=True),
        sa.Column("child_run_id", sa.String(length=40), nullable=True),
        sa.Column("approvals", orchestrate.core.db.JSONDocument, nullable=False),
        sa.Column("process", orchestrate.core.db.JSONDocument, nullable=True),
        sa.Column("reused_from", sa.String(length=40), nullable=True),
        sa.Column("log_path", sa.String(length=1000), nullable=True),
        sa.Column("queued_at", orchestrate.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("started_at", orchestrate.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", orchestrate.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", orchestrate.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["pipeline_runs.id"],
            name=op.f("fk_pipeline_steps_run_id_pipeline_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pipeline_steps")),
        sa.UniqueConstraint("run_id", "key", name=op.f("uq_pipeline_steps_run_id_key")),
    )
    with op.batch_alter_table("pipeline_steps", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pipeline_steps_run_id"), ["run_id"], unique=False)

    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("origin_key", sa.String(length=300), nullable=True))
        batch_op.add_column(
            sa.Column("on_finished", orchestrate.core.db.JSONDocument, nullable=True)
        )
        batch_op.create_unique_constraint(batch_op.f("uq_agents_origin_key"), ["origin_key"])


def downgrade() -> None:
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_agents_origin_key"), type_="unique")
        batch_op.drop_column("on_finished")
        batch_op.drop_column("origin_key")

    with op.batch_alter_table("pipeline_steps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pipeline_steps_run_id"))

    op.drop_table("pipeline_steps")
    op.drop_table("pipelines")
    with op.batch_alter_table("pipeline_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pipeline_runs_status"))
        batch_op.drop_index(batch_op.f("ix_pipeline_runs_parent_step_id"))
        batch_op.drop_index("ix_pipeline_runs_created_at_id")
        batch_op.drop_index(batch_op.f("ix_pipeline_runs_concurrency_group"))

    op.drop_table("pipeline_runs")
