"""Add the CI test history: interned repositories, tests and tree SHAs, one row per
recorded report and per test of it, and the quarantine of flaky tests.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07 03:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import orchestrate.core.db

revision: str = "0025"
down_revision: str | Sequence[str] | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = orchestrate.core.db.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "ci_repositories",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", _TIME(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "ci_tests",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("repository_id", sa.Integer(), nullable=False),
        sa.Column("identity", sa.String(length=1000), nullable=False),
        sa.Column("created_at", _TIME(), nullable=False),
        sa.ForeignKeyConstraint(["repository_id"], ["ci_repositories.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("repository_id", "identity"),
    )
    op.create_table(
        "ci_trees",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("repository_id", sa.Integer(), nullable=False),
        sa.Column("tree_sha", sa.String(length=64), nullable=False),
        sa.Column("first_seen_at", _TIME(), nullable=False),
        sa.ForeignKeyConstraint(["repository_id"], ["ci_repositories.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("repository_id", "tree_sha"),
    )
    op.create_table(
        "ci_test_runs",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("repository_id", sa.Integer(), nullable=False),
        sa.Column("tree_id", sa.Integer(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("recorded_at", _TIME(), nullable=False),
        sa.Column("tests", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["repository_id"], ["ci_repositories.id"]),
        sa.ForeignKeyConstraint(["tree_id"], ["ci_trees.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tree_id", "attempt"),
    )
    with op.batch_alter_table("ci_test_runs") as batch:
        batch.create_index(
            "ix_ci_test_runs_repository_id_recorded_at", ["repository_id", "recorded_at"]
        )
    op.create_table(
        "ci_test_results",
        sa.Column("run_id", _BIG_ID, nullable=False),
        sa.Column("test_id", sa.Integer(), nullable=False),
        sa.Column("repository_id", sa.Integer(), nullable=False),
        sa.Column("tree_id", sa.Integer(), nullable=False),
        sa.Column("recorded_at", _TIME(), nullable=False),
        sa.Column("status", sa.SmallInteger(), nullable=False),
        sa.Column("passes", sa.SmallInteger(), nullable=False),
        sa.Column("failures", sa.SmallInteger(), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["ci_test_runs.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["test_id"], ["ci_tests.id"]),
        sa.PrimaryKeyConstraint("run_id", "test_id"),
    )
    with op.batch_alter_table("ci_test_results") as batch:
        batch.create_index(
            "ix_ci_test_results_failures",
            ["repository_id", "recorded_at", "test_id", "tree_id"],
            sqlite_where=sa.text("failures > 0"),
            postgresql_where=sa.text("failures > 0"),
        )
        batch.create_index(
            "ix_ci_test_results_test",
            ["test_id", "tree_id", "recorded_at", "passes", "failures"],
        )
    op.create_table(
        "ci_quarantines",
        sa.Column("test_id", sa.Integer(), nullable=False),
        sa.Column("repository_id", sa.Integer(), nullable=False),
        sa.Column("is_quarantined", sa.Boolean(), nullable=False),
        sa.Column("quarantined_at", _TIME(), nullable=False),
        sa.Column("released_at", _TIME(), nullable=True),
        sa.Column("consecutive_passes", sa.Integer(), nullable=False),
        sa.Column("flaky_rate", sa.Float(), nullable=False),
        sa.Column("disruption_rate", sa.Float(), nullable=False),
        sa.Column("runs", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["test_id"], ["ci_tests.id"]),
        sa.PrimaryKeyConstraint("test_id"),
    )
    with op.batch_alter_table("ci_quarantines") as batch:
        batch.create_index("ix_ci_quarantines_repository_id", ["repository_id"])


def downgrade() -> None:
    with op.batch_alter_table("ci_quarantines") as batch:
        batch.drop_index("ix_ci_quarantines_repository_id")
    op.drop_table("ci_quarantines")
    with op.batch_alter_table("ci_test_results") as batch:
        batch.drop_index("ix_ci_test_results_test")
        batch.drop_index("ix_ci_test_results_failures")
    op.drop_table("ci_test_results")
    with op.batch_alter_table("ci_test_runs") as batch:
        batch.drop_index("ix_ci_test_runs_repository_id_recorded_at")
    op.drop_table("ci_test_runs")
    op.drop_table("ci_trees")
    op.drop_table("ci_tests")
    op.drop_table("ci_repositories")
