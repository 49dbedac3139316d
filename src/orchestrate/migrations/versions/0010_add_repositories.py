"""Add the repository registry: repositories and the dependencies declared between them.

``repositories.name_key`` is the name case-folded and unique (``Octo/App`` is
``octo/app`` on the forges). ``repository_dependencies`` names both ends by name key, so
a repository of the seed setting ``ORCHESTRATE_GITHUB_REPOSITORIES`` (which has no row)
can be one; the seed itself is merged in when the registry is read, never copied here.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 08:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import orchestrate.core.db

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "repositories",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("name_key", sa.String(length=200), nullable=False),
        sa.Column("forge", sa.String(length=20), nullable=False),
        sa.Column("path", sa.String(length=4096), nullable=False),
        sa.Column("remote", sa.String(length=100), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=True),
        sa.Column("default_branch", sa.String(length=255), nullable=False),
        sa.Column("is_cloned", sa.Boolean(), nullable=False),
        sa.Column("created_at", orchestrate.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", orchestrate.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_repositories")),
        sa.UniqueConstraint("name_key", name=op.f("uq_repositories_name_key")),
    )
    op.create_table(
        "repository_dependencies",
        sa.Column("repository", sa.String(length=200), nullable=False),
        sa.Column("depends_on", sa.String(length=200), nullable=False),
        sa.Column("created_at", orchestrate.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "repository", "depends_on", name=op.f("pk_repository_dependencies")
        ),
    )
    with op.batch_alter_table("repository_dependencies", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_repository_dependencies_depends_on"), ["depends_on"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("repository_dependencies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_repository_dependencies_depends_on"))
    op.drop_table("repository_dependencies")
    op.drop_table("repositories")
