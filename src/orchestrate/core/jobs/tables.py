"""The ``jobs`` table: one durable queue for every kind of background work."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from orchestrate.core.db import Base, JSONDocument, UTCDateTime


class JobRow(Base):
    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    status: Mapped[str] = mapped_column(String(20))
    priority: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer)
    run_at: Mapped[datetime] = mapped_column(UTCDateTime())
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    idempotency_key: Mapped[str | None] = mapped_column(String(255), unique=True)
    last_error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[Any | None] = mapped_column(JSONDocument)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        # Counts and lists by status (``admin.queue_stats``, ``jobs list --status``).
        Index("ix_jobs_status_kind", "status", "kind"),
        # Claims read only the queued jobs and reclaims only the running ones: partial
        # indexes hold just those rows, so however many finished jobs the table keeps,
        # and whatever statistics the planner has, they are the only index that serves
        # them (``queue.QUEUED`` and ``queue.RUNNING`` must match these predicates).
        Index(
            "ix_jobs_queued_kind_run_at",
            "kind",
            "run_at",
            sqlite_where=text("status = 'queued'"),
            postgresql_where=text("status = 'queued'"),
        ),
        Index(
            "ix_jobs_running_lease_expires_at",
            "lease_expires_at",
            sqlite_where=text("status = 'running'"),
            postgresql_where=text("status = 'running'"),
        ),
    )


class WorkerRow(Base):
    """One worker process that is (or was lately) alive: written by its heartbeat every
    few seconds, deleted when it stops cleanly, pruned when it has been silent a day."""

    __tablename__ = "worker_heartbeats"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    """The job runner's worker id, the ``lease_owner`` of the jobs it runs."""
    hostname: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    version: Mapped[str] = mapped_column(String(50))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    running_jobs: Mapped[int] = mapped_column(Integer, default=0)
