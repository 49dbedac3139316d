"""Jobs: partial indexes on the queued and the running jobs, for claims and reclaims.

With a million finished jobs and statistics (``ANALYZE``, or the ``PRAGMA optimize``
SQLite recommends), the full ``(status, kind, run_at)`` index looks unselective to a
planner that knows only the average rows per status, and a claim could fall back to
scanning the table. The new indexes hold only queued (respectively running) rows, so
they stay small whatever the table keeps; the full indexes they replace give way to
``(status, kind)`` for counts and lists by status, which cannot serve a claim's
``run_at`` range, so the planner has no other index to prefer for one. The queries name
the status as a literal (``core.jobs.queue.QUEUED``) so the planner can prove the
partial indexes apply.

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-07 16:20:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0029"
down_revision: str | Sequence[str] | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_QUEUED = sa.text("status = 'queued'")
_RUNNING = sa.text("status = 'running'")


def upgrade() -> None:
    op.create_index("ix_jobs_status_kind", "jobs", ["status", "kind"], unique=False)
    op.drop_index("ix_jobs_status_kind_run_at", table_name="jobs")
    op.drop_index("ix_jobs_status_lease_expires_at", table_name="jobs")
    op.create_index(
        "ix_jobs_queued_kind_run_at",
        "jobs",
        ["kind", "run_at"],
        unique=False,
        sqlite_where=_QUEUED,
        postgresql_where=_QUEUED,
    )
    op.create_index(
        "ix_jobs_running_lease_expires_at",
        "jobs",
        ["lease_expires_at"],
        unique=False,
        sqlite_where=_RUNNING,
        postgresql_where=_RUNNING,
    )


def downgrade() -> None:
    op.drop_index("ix_jobs_running_lease_expires_at", table_name="jobs")
    op.drop_index("ix_jobs_queued_kind_run_at", table_name="jobs")
    op.create_index(
        "ix_jobs_status_lease_expires_at", "jobs", ["status", "lease_expires_at"], unique=False
    )
    op.create_index(
        "ix_jobs_status_kind_run_at", "jobs", ["status", "kind", "run_at"], unique=False
    )
    op.drop_index("ix_jobs_status_kind", table_name="jobs")
