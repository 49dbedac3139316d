"""Agents as a tree: what each run and all its descendants spent.

``tree_turns``, ``tree_tokens``, ``tree_cost_usd`` and ``tree_active_seconds`` are kept
on every run by the transaction that records a provider call (the run and each of its
ancestors), so limits that bound a whole tree are one read. Runs stored before start
with their own totals, which is what they spent (children never counted before).

``reserved_usd`` is what a run's model call in flight could cost at most, and
``tree_reserved_usd`` the sum of that over the run's tree: concurrent sub-agents reserve
before they call, so together they never pass an ancestor's dollar limit.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 05:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("tree_turns", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("tree_tokens", sa.BigInteger(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column(
                "tree_cost_usd",
                sa.Numeric(precision=14, scale=6),
                server_default="0",
                nullable=False,
            )
        )
        batch_op.add_column(
            sa.Column("tree_active_seconds", sa.Double(), server_default="0", nullable=False)
        )
        for name in ("reserved_usd", "tree_reserved_usd"):
            batch_op.add_column(
                sa.Column(
                    name, sa.Numeric(precision=14, scale=6), server_default="0", nullable=False
                )
            )
    op.execute(
        "UPDATE agents SET tree_turns = turns, "
        "tree_tokens = input_tokens + output_tokens + cache_read_tokens + cache_write_tokens, "
        "tree_cost_usd = cost_usd, tree_active_seconds = active_seconds"
    )


def downgrade() -> None:
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.drop_column("tree_reserved_usd")
        batch_op.drop_column("reserved_usd")
        batch_op.drop_column("tree_active_seconds")
        batch_op.drop_column("tree_cost_usd")
        batch_op.drop_column("tree_tokens")
        batch_op.drop_column("tree_turns")
