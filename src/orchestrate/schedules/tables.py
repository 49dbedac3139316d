"""Tables of cron schedules: what each schedule starts, and every time it fired.

``schedules.next_fire_at`` is indexed because the firing job asks only "which schedules
are due?"; ``schedule_fires`` is unique on ``(schedule_id, fire_time)``, which is what
makes each fire time start its target once however many workers race for it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from orchestrate.core.db import Base, JSONDocument, UTCDateTime


class ScheduleRow(Base):
    """One schedule: a cron expression in a time zone, and the pipeline or agent it starts."""

    __tablename__ = "schedules"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    cron: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(100))
    target_kind: Mapped[str] = mapped_column(String(20))
    pipeline: Mapped[str | None] = mapped_column(String(200), index=True)
    inputs: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    agent_type: Mapped[str | None] = mapped_column(String(200))
    task: Mapped[str | None] = mapped_column(Text)
    misfire_policy: Mapped[str] = mapped_column(String(20))
    misfire_cap: Mapped[int] = mapped_column(Integer)
    overlap_policy: Mapped[str] = mapped_column(String(20))
    is_paused: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[str] = mapped_column(String(300), index=True)
    next_fire_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    last_fired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ScheduleFireRow(Base):
    """One fire time of a schedule and what came of it (a run, an agent, or why not)."""

    __tablename__ = "schedule_fires"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    schedule_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("schedules.id", ondelete="CASCADE")
    )
    fire_time: Mapped[datetime] = mapped_column(UTCDateTime())
    fired_at: Mapped[datetime] = mapped_column(UTCDateTime())
    outcome: Mapped[str] = mapped_column(String(20))
    is_manual: Mapped[bool] = mapped_column(Boolean, default=False)
    run_id: Mapped[str | None] = mapped_column(String(40))
    agent_id: Mapped[str | None] = mapped_column(String(40))
    reason: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        # The exactly-once guarantee: a second insert of the same fire time is a no-op.
        UniqueConstraint("schedule_id", "fire_time"),
        Index("ix_schedule_fires_outcome", "outcome"),
    )
