"""The table of pull requests Orchestrate opened.

``(repository_key, branch)`` is unique: one pull request per pushed branch, so a job
that resumes after a crash finds the row its first attempt wrote (or the forge's
existing pull request) instead of recording a second.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from orchestrate.core.db import Base, UTCDateTime


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
