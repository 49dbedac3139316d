"""Add alerting: applied rule files, alerts, silences, notification groups; and an
index of events by type and time for the rules' windows.

Revision ID: 0022
Revises: 0020
Create Date: 2026-12-07 01:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import orchestrate.core.db

revision: str = "0022"
down_revision: str | Sequence[str] | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = orchestrate.core.db.JSONDocument


def upgrade() -> None:
    op.create_table(
        "alert_rule_sources",
        sa.Column("source", sa.String(length=500), nullable=False),
        sa.Column("document", _JSON, nullable=False),
        sa.Column("applied_at", orchestrate.core.db.UTCDateTime(), nullable=False),
        sa.Column("applied_by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("source"),
    )
    op.create_table(
        "alerts",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("rule", sa.String(length=100), nullable=False),
        sa.Column("fingerprint", sa.String(length=32), nullable=False),
        sa.Column("open_fingerprint", sa.String(length=32), nullable=True),
        sa.Column("labels", _JSON, nullable=False),
        sa.Column("annotations", _JSON, nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("active_at", orchestrate.core.db.UTCDateTime(), nullable=False),
        sa.Column("last_active_at", orchestrate.core.db.UTCDateTime(), nullable=False),
        sa.Column("fired_at", orchestrate.core.db.UTCDateTime(), nullable=True),
        sa.Column("resolved_at", orchestrate.core.db.UTCDateTime(), nullable=True),
        sa.Column("acknowledged_at", orchestrate.core.db.UTCDateTime(), nullable=True),
        sa.Column("acknowledged_by", sa.String(length=200), nullable=True),
        sa.Column("suppressed_by", sa.String(length=40), nullable=True),
        sa.Column("settled", sa.Boolean(), nullable=False),
        sa.Column("updated_at", orchestrate.core.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("open_fingerprint"),
    )
    with op.batch_alter_table("alerts") as batch:
        batch.create_index("ix_alerts_settled_state", ["settled", "state"], unique=False)
        batch.create_index("ix_alerts_resolved_at", ["resolved_at"], unique=False)
    op.create_table(
        "alert_silences",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("matchers", _JSON, nullable=False),
        sa.Column("starts_at", orchestrate.core.db.UTCDateTime(), nullable=False),
        sa.Column("ends_at", orchestrate.core.db.UTCDateTime(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", orchestrate.core.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("alert_silences") as batch:
        batch.create_index("ix_alert_silences_ends_at", ["ends_at"], unique=False)
    op.create_table(
        "alert_groups",
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("route_id", sa.String(length=600), nullable=False),
        sa.Column("group_labels", _JSON, nullable=False),
        sa.Column("first_seen_at", orchestrate.core.db.UTCDateTime(), nullable=False),
        sa.Column("last_notified_at", orchestrate.core.db.UTCDateTime(), nullable=True),
        sa.Column("notified_hash", sa.String(length=32), nullable=True),
        sa.Column("notified_firing", _JSON, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    with op.batch_alter_table("events") as batch:
        batch.create_index("ix_events_type_created_at", ["type", "created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.drop_index("ix_events_type_created_at")
    op.drop_table("alert_groups")
    with op.batch_alter_table("alert_silences") as batch:
        batch.drop_index("ix_alert_silences_ends_at")
    op.drop_table("alert_silences")
    with op.batch_alter_table("alerts") as batch:
        batch.drop_index("ix_alerts_resolved_at")
        batch.drop_index("ix_alerts_settled_state")
    op.drop_table("alerts")
    op.drop_table("alert_rule_sources")
