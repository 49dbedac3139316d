"""Add recorded security scans and their findings.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-07 07:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import orchestrate.core.db

revision: str = "0026"
down_revision: str | Sequence[str] | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = orchestrate.core.db.UTCDateTime
_JSON = orchestrate.core.db.JSONDocument


def upgrade() -> None:
    op.create_table(
        "security_scans",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("root", sa.String(length=4096), nullable=False),
        sa.Column("repository", sa.String(length=200), nullable=True),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("categories", _JSON, nullable=False),
        sa.Column("fail_on", sa.String(length=20), nullable=False),
        sa.Column("has_baseline", sa.Boolean(), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("new_count", sa.Integer(), nullable=False),
        sa.Column("baselined_count", sa.Integer(), nullable=False),
        sa.Column("failing_count", sa.Integer(), nullable=False),
        sa.Column("by_severity", _JSON, nullable=False),
        sa.Column("dependency_count", sa.Integer(), nullable=False),
        sa.Column("notices", _JSON, nullable=False),
        sa.Column("started_at", _TIME(), nullable=False),
        sa.Column("finished_at", _TIME(), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("security_scans") as batch:
        batch.create_index("ix_security_scans_repository", ["repository"])
        batch.create_index("ix_security_scans_started_at", ["started_at"])
    op.create_table(
        "security_findings",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("scan_id", sa.String(length=40), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("fingerprint", sa.String(length=200), nullable=False),
        sa.Column("rule_id", sa.String(length=300), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("severity", sa.String(length=20), nullable=False),
        sa.Column("tool", sa.String(length=100), nullable=False),
        sa.Column("title", sa.String(length=1000), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("path", sa.String(length=4096), nullable=False),
        sa.Column("start_line", sa.Integer(), nullable=True),
        sa.Column("end_line", sa.Integer(), nullable=True),
        sa.Column("start_column", sa.Integer(), nullable=True),
        sa.Column("end_column", sa.Integer(), nullable=True),
        sa.Column("commit", sa.String(length=64), nullable=True),
        sa.Column("snippet", sa.Text(), nullable=False),
        sa.Column("help_uri", sa.String(length=2000), nullable=True),
        sa.Column("properties", _JSON, nullable=False),
        sa.Column("fix", _JSON, nullable=True),
        sa.ForeignKeyConstraint(["scan_id"], ["security_scans.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("security_findings") as batch:
        batch.create_index("ix_security_findings_scan", ["scan_id", "id"])
        batch.create_index("ix_security_findings_fingerprint", ["fingerprint"])


def downgrade() -> None:
    with op.batch_alter_table("security_findings") as batch:
        batch.drop_index("ix_security_findings_fingerprint")
        batch.drop_index("ix_security_findings_scan")
    op.drop_table("security_findings")
    with op.batch_alter_table("security_scans") as batch:
        batch.drop_index("ix_security_scans_started_at")
        batch.drop_index("ix_security_scans_repository")
    op.drop_table("security_scans")
