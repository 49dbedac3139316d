"""Create the foundation tables

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import orchestrate.core.db

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("token_prefix", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", orchestrate.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", orchestrate.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", orchestrate.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.create_index(
            "uq_api_tokens_active_name",
            ["name"],
            unique=True,
            sqlite_where=sa.text("revoked_at IS NULL"),
            postgresql_where=sa.text("revoked_at IS NULL"),
        )

    op.create_table(
        "audit_log",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=100), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("details", orchestrate.core.db.JSONDocument, nullable=False),
        sa.Column("created_at", orchestrate.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_created_at"), ["created_at"], unique=False)
        batch_op.create_index("ix_audit_log_subject", ["subject"], unique=False)

    op.create_table(
        "epics",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=True),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("source", sa.String(length=1000), nullable=True),
        sa.Column("created_at", orchestrate.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", orchestrate.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_epics")),
        sa.UniqueConstraint("key", name=op.f("uq_epics_key")),
    )
    with op.batch_alter_table("epics", schema=None) as batch_op:
        batch_op.create_index("ix_epics_created_at_id", ["created_at", "id"], unique=False)

    op.create_table(
        "events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("type", sa.String(length=100), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("payload", orchestrate.core.db.JSONDocument, nullable=False),
        sa.Column("created_at", orchestrate.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index("ix_events_subject_id", ["subject", "id"], unique=False)
        batch_op.create_index("ix_events_type_id", ["type", "id"], unique=False)

    op.create_table(
        "jobs",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=100), nullable=False),
        sa.Column("payload", orchestrate.core.db.JSONDocument, nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("run_at", orchestrate.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("lease_owner", sa.String(length=100), nullable=True),
        sa.Column(
            "lease_expires_at", orchestrate.core.db.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("idempotency_key", sa.String(length=255), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("result", orchestrate.core.db.JSONDocument, nullable=True),
        sa.Column("created_at", orchestrate.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", orchestrate.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", orchestrate.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", orchestrate.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_jobs_idempotency_key")),
    )
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_jobs_status_kind_run_at", ["status", "kind", "run_at"], unique=False
        )
        batch_op.create_index(
            "ix_jobs_status_lease_expires_at", ["status", "lease_expires_at"], unique=False
        )

    op.create_table(
        "stories",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=True),
        sa.Column("epic_id", sa.String(length=40), nullable=True),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("acceptance_criteria", orchestrate.core.db.JSONDocument, nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("priority", sa.String(length=20), nullable=False),
        sa.Column("assignee", sa.String(length=200), nullable=True),
        sa.Column("branch", sa.String(length=300), nullable=True),
        sa.Column("pr_url", sa.String(length=1000), nullable=True),
        sa.Column("source", sa.String(length=1000), nullable=True),
        sa.Column("created_at", orchestrate.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", orchestrate.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["epic_id"], ["epics.id"], name=op.f("fk_stories_epic_id_epics"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stories")),
        sa.UniqueConstraint("key", name=op.f("uq_stories_key")),
    )
    with op.batch_alter_table("stories", schema=None) as batch_op:
        batch_op.create_index("ix_stories_created_at_id", ["created_at", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_stories_epic_id"), ["epic_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_stories_status"), ["status"], unique=False)

    op.create_table(
        "story_labels",
        sa.Column("story_id", sa.String(length=40), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["story_id"],
            ["stories.id"],
            name=op.f("fk_story_labels_story_id_stories"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("story_id", "label", name=op.f("pk_story_labels")),
    )
    with op.batch_alter_table("story_labels", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_story_labels_label"), ["label"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("story_labels", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_story_labels_label"))

    op.drop_table("story_labels")
    with op.batch_alter_table("stories", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stories_status"))
        batch_op.drop_index(batch_op.f("ix_stories_epic_id"))
        batch_op.drop_index("ix_stories_created_at_id")

    op.drop_table("stories")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_jobs_status_lease_expires_at")
        batch_op.drop_index("ix_jobs_status_kind_run_at")

    op.drop_table("jobs")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_type_id")
        batch_op.drop_index("ix_events_subject_id")

    op.drop_table("events")
    with op.batch_alter_table("epics", schema=None) as batch_op:
        batch_op.drop_index("ix_epics_created_at_id")

    op.drop_table("epics")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_log_subject")
        batch_op.drop_index(batch_op.f("ix_audit_log_created_at"))

    op.drop_table("audit_log")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_api_tokens_active_name",
            sqlite_where=sa.text("revoked_at IS NULL"),
            postgresql_where=sa.text("revoked_at IS NULL"),
        )

    op.drop_table("api_tokens")
