"""Add story origin keys: what a story was made from, unique (a GitHub issue, once).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 19:19:42.246472
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("stories", schema=None) as batch_op:
        batch_op.add_column(sa.Column("origin_key", sa.String(length=300), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_stories_origin_key"), ["origin_key"])


def downgrade() -> None:
    with op.batch_alter_table("stories", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_stories_origin_key"), type_="unique")
        batch_op.drop_column("origin_key")
