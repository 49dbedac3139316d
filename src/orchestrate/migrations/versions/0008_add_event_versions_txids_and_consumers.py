"""Events: a schema version per row, the writing transaction on PostgreSQL, durable consumers.

``txid`` closes the late-commit gap on PostgreSQL: readers order the log by
(transaction, id) and stop at the oldest running transaction (``core/events/log.py``).
Rows written before this migration get the migration's own transaction id, so they
keep their id order ahead of everything written later. SQLite leaves it empty.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 01:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import orchestrate.core.db

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    on_postgres = op.get_bind().dialect.name == "postgresql"
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("version", sa.SmallInteger(), server_default="1", nullable=False)
        )
        batch_op.add_column(
            sa.Column(
                "txid",
                sa.BigInteger(),
                server_default=(
                    sa.text("(pg_current_xact_id()::text::bigint)") if on_postgres else None
                ),
                nullable=True,
            )
        )
        batch_op.create_index("ix_events_txid_id", ["txid", "id"], unique=False)

    op.create_table(
        "event_consumers",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("cursor", sa.BigInteger(), nullable=False),
        sa.Column("lease_owner", sa.String(length=100), nullable=True),
        sa.Column(
            "lease_expires_at", orchestrate.core.db.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("updated_at", orchestrate.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_event_consumers")),
    )


def downgrade() -> None:
    op.drop_table("event_consumers")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_txid_id")
        batch_op.drop_column("txid")
        batch_op.drop_column("version")
