"""Tables of autonomous epic runs: the runs, and each story's progress within one."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from orchestrate.core.db import Base, UTCDateTime


class EpicRunRow(Base):
    __tablename__ = "epic_runs"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    epic_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("epics.id", ondelete="CASCADE"), index=True
    )
    # The epic's id while the run is running or paused, else NULL: the unique index lets
    # one active run per epic exist, whichever of two concurrent starts commits first.
    active_epic_id: Mapped[str | None] = mapped_column(String(40), unique=True)
    repository: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(30))
    stuck_minutes: Mapped[int] = mapped_column(Integer)
    max_attempts: Mapped[int] = mapped_column(Integer)
    # Which poll of the run is the live one (``runner.py``): exactly one chain of polls.
    poll_seq: Mapped[int] = mapped_column(Integer, default=0)
    started_by: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class EpicRunStoryRow(Base):
    __tablename__ = "epic_run_stories"

    run_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("epic_runs.id", ondelete="CASCADE"), primary_key=True
    )
    # Not a foreign key: a story deleted during the run leaves its history here.
    story_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    phase: Mapped[str] = mapped_column(String(30))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    review_attempts: Mapped[int] = mapped_column(Integer, default=0)
    developer_agent_id: Mapped[str | None] = mapped_column(String(40))
    reviewer_agent_id: Mapped[str | None] = mapped_column(String(40))
    pull_request_repository: Mapped[str | None] = mapped_column(String(200))
    pull_request_number: Mapped[int | None] = mapped_column(Integer)
    pull_request_url: Mapped[str | None] = mapped_column(String(1000))
    review_verdict: Mapped[str | None] = mapped_column(String(30))
    review_url: Mapped[str | None] = mapped_column(String(1000))
    waiting_for: Mapped[str | None] = mapped_column(Text)
    blocked_reason: Mapped[str | None] = mapped_column(Text)
    # Why a story was skipped (done before the run reached it, cancelled, deleted).
    note: Mapped[str | None] = mapped_column(Text)
    progress_at: Mapped[datetime] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
