"""PostgreSQL: the events table notifies its listeners itself, once per INSERT statement.

Every transaction that records events used to send ``SELECT pg_notify(...)`` after
inserting them: one more round trip per transaction, about one statement in twelve of
an agent tree's (``bench/agent_tree.py``). A statement-level trigger sends the same
notification from inside the INSERT; PostgreSQL still delivers it only on commit, and
folds repeats within a transaction into one. SQLite has no NOTIFY: nothing to do there.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-07 16:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0028"
down_revision: str | Sequence[str] | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHANNEL = "orchestrate_events"
"""``core.events.log.NOTIFY_CHANNEL``, as it was when this migration was written."""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        f"""
        CREATE FUNCTION orchestrate_notify_events() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('{CHANNEL}', '');
            RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER events_notify AFTER INSERT ON events "
        "FOR EACH STATEMENT EXECUTE FUNCTION orchestrate_notify_events()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS events_notify ON events")
    op.execute("DROP FUNCTION IF EXISTS orchestrate_notify_events()")
