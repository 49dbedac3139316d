"""The tables of pull requests Orchestrate opened (or adopted) and of its shepherd's moves.

``(repository_key, branch)`` is unique: one pull request per pushed branch, so a job
that resumes after a crash finds the row its first attempt wrote (or the forge's
existing pull request) instead of recording a second.

The ``shepherd_*`` columns are the shepherd's own state on a pull request: whether it
is still at work, its last move in words, the lease that lets one worker at a time
judge it, and the generation counter that names its next queued look. Each move that
acts is a row of ``shepherd_moves``, unique per pull request and ``key`` (kind, head
commit, attempt), written before the move acts: a worker killed mid-move leaves the
row, and whoever looks next finishes or retires it instead of acting twice.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Boolean, Index, Integer, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from orchestrate.core.db import Base, JSONDocument, UTCDateTime


class PullRequestRow(Base):
    """One pull request (GitLab: merge request) opened for an agent's branch."""

    __tablename__ = "pull_requests"
    __table_args__ = (
        UniqueConstraint("repository_key", "branch"),
        Index("ix_pull_requests_repository_key_number", "repository_key", "number"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    forge: Mapped[str] = mapped_column(String(20))
    repository: Mapped[str] = mapped_column(String(200))
    # The name case-folded, as the registry compares names.
    repository_key: Mapped[str] = mapped_column(String(200))
    number: Mapped[int] = mapped_column(Integer)
    url: Mapped[str] = mapped_column(String(1000))
    branch: Mapped[str] = mapped_column(String(300))
    base: Mapped[str] = mapped_column(String(300))
    head_sha: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(20))
    draft: Mapped[bool] = mapped_column(Boolean, default=False)
    title: Mapped[str] = mapped_column(String(300))
    story_id: Mapped[str | None] = mapped_column(String(40), index=True)
    agent_id: Mapped[str | None] = mapped_column(String(40), index=True)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    merged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    shepherd_state: Mapped[str] = mapped_column(String(20), default="active")
    shepherd_move: Mapped[str | None] = mapped_column(String(30))
    shepherd_reason: Mapped[str | None] = mapped_column(String(1000))
    shepherd_moved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    shepherd_stopped_at_head: Mapped[str | None] = mapped_column(String(64))
    shepherd_lease_owner: Mapped[str | None] = mapped_column(String(64))
    shepherd_lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    shepherd_ticks: Mapped[int] = mapped_column(Integer, default=0)
    shepherd_next_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ShepherdMoveRow(Base):
    """One move the shepherd made (or is making) on a pull request."""

    __tablename__ = "shepherd_moves"
    __table_args__ = (UniqueConstraint("pull_request_id", "key"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    pull_request_id: Mapped[str] = mapped_column(String(40), index=True)
    key: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(30))
    head_sha: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(String(1000))
    agent_id: Mapped[str | None] = mapped_column(String(40))
    cost_usd: Mapped[Decimal] = mapped_column(Numeric(14, 6), default=Decimal(0))
    detail: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
