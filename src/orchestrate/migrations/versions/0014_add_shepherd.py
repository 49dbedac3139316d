"""Add the shepherd: its state on each pull request and the moves it makes.

Pull requests opened before this are shepherded from now on (``active``).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 14:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import orchestrate.core.db

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("pull_requests") as batch:
        batch.add_column(
            sa.Column(
                "shepherd_state", sa.String(length=20), server_default="active", nullable=False
            )
        )
        batch.add_column(sa.Column("shepherd_move", sa.String(length=30), nullable=True))
        batch.add_column(sa.Column("shepherd_reason", sa.String(length=1000), nullable=True))
        batch.add_column(
            sa.Column(
                "shepherd_moved_at", orchestrate.core.db.UTCDateTime(timezone=True), nullable=True
            )
        )
        batch.add_column(sa.Column("shepherd_stopped_at_head", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("shepherd_lease_owner", sa.String(length=64), nullable=True))
        batch.add_column(
            sa.Column(
                "shepherd_lease_until",
                orchestrate.core.db.UTCDateTime(timezone=True),
                nullable=True,
            )
        )
        batch.add_column(
            sa.Column("shepherd_ticks", sa.Integer(), server_default="0", nullable=False)
        )
        batch.add_column(
            sa.Column(
                "shepherd_next_at", orchestrate.core.db.UTCDateTime(timezone=True), nullable=True
            )
        )
    op.create_table(
        "shepherd_moves",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("pull_request_id", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("head_sha", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=1000), nullable=False),
        sa.Column("agent_id", sa.String(length=40), nullable=True),
        sa.Column("cost_usd", sa.Numeric(precision=14, scale=6), nullable=False),
        sa.Column("detail", orchestrate.core.db.JSONDocument, nullable=False),
        sa.Column("started_at", orchestrate.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", orchestrate.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shepherd_moves")),
        sa.UniqueConstraint(
            "pull_request_id", "key", name=op.f("uq_shepherd_moves_pull_request_id_key")
        ),
    )
    with op.batch_alter_table("shepherd_moves") as batch:
        batch.create_index(
            batch.f("ix_shepherd_moves_pull_request_id"), ["pull_request_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("shepherd_moves") as batch:
        batch.drop_index(batch.f("ix_shepherd_moves_pull_request_id"))
    op.drop_table("shepherd_moves")
    with op.batch_alter_table("pull_requests") as batch:
        for column in (
            "shepherd_next_at",
            "shepherd_ticks",
            "shepherd_lease_until",
            "shepherd_lease_owner",
            "shepherd_stopped_at_head",
            "shepherd_moved_at",
            "shepherd_reason",
            "shepherd_move",
            "shepherd_state",
        ):
            batch.drop_column(column)
