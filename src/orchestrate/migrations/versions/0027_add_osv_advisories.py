"""Add the offline OSV database: advisories, the packages they affect, and imports.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-07 06:50:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import orchestrate.core.db

revision: str = "0027"
down_revision: str | Sequence[str] | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = orchestrate.core.db.UTCDateTime
_JSON = orchestrate.core.db.JSONDocument


def upgrade() -> None:
    op.create_table(
        "osv_advisories",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("modified", _TIME(), nullable=False),
        sa.Column("published", _TIME(), nullable=True),
        sa.Column("withdrawn", _TIME(), nullable=True),
        sa.Column("aliases", _JSON, nullable=False),
        sa.Column("summary", sa.String(length=500), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("severity", sa.String(length=10), nullable=False),
        sa.Column("cvss_score", sa.Float(), nullable=True),
        sa.Column("cvss_vector", sa.String(length=300), nullable=True),
        sa.Column("references", _JSON, nullable=False),
        sa.Column("imported_at", _TIME(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "osv_affected",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("advisory_id", sa.String(length=100), nullable=False),
        sa.Column("ecosystem", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("ranges", _JSON, nullable=False),
        sa.Column("versions", _JSON, nullable=False),
        sa.ForeignKeyConstraint(["advisory_id"], ["osv_advisories.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("osv_affected") as batch:
        batch.create_index("ix_osv_affected_advisory_id", ["advisory_id"])
        batch.create_index("ix_osv_affected_ecosystem_name", ["ecosystem", "name"])
    op.create_table(
        "osv_imports",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("source", sa.String(length=1000), nullable=False),
        sa.Column("started_at", _TIME(), nullable=False),
        sa.Column("finished_at", _TIME(), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("inserted", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("osv_imports")
    with op.batch_alter_table("osv_affected") as batch:
        batch.drop_index("ix_osv_affected_ecosystem_name")
        batch.drop_index("ix_osv_affected_advisory_id")
    op.drop_table("osv_affected")
    op.drop_table("osv_advisories")
