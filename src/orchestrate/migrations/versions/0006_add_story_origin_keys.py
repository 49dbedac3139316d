"""Add story origin keys: what a story was made from, unique (a GitHub issue, once).

Stories made from GitHub issues before this revision carry the label
``github-issue:<id>``; the oldest story with each such label gets it as its origin key,
so a later delivery of the same issue finds it instead of making a second story.

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
    bind = op.get_bind()
    labelled = bind.execute(
        sa.text(
            "SELECT l.label, s.id FROM story_labels l JOIN stories s ON s.id = l.story_id "
            "WHERE l.label LIKE 'github-issue:%' ORDER BY s.created_at, s.id"
        )
    ).all()
    keys: dict[str, str] = {}
    for label, story_id in labelled:
        keys.setdefault(label, story_id)
    if keys:
        bind.execute(
            sa.text("UPDATE stories SET origin_key = :key WHERE id = :story"),
            [{"key": key, "story": story} for key, story in keys.items()],
        )


def downgrade() -> None:
    with op.batch_alter_table("stories", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_stories_origin_key"), type_="unique")
        batch_op.drop_column("origin_key")
