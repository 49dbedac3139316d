"""Tables of the stories capability: epics, stories and story labels."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from orchestrate.core.db import Base, JSONDocument, UTCDateTime


class EpicRow(Base):
    __tablename__ = "epics"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    key: Mapped[str | None] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20))
    source: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_epics_created_at_id", "created_at", "id"),)


class StoryRow(Base):
    __tablename__ = "stories"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    key: Mapped[str | None] = mapped_column(String(100), unique=True)
    epic_id: Mapped[str | None] = mapped_column(
        String(40), ForeignKey("epics.id", ondelete="SET NULL"), index=True
    )
    title: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(Text, default="")
    acceptance_criteria: Mapped[list[dict[str, Any]]] = mapped_column(JSONDocument)
    status: Mapped[str] = mapped_column(String(20), index=True)
    priority: Mapped[str] = mapped_column(String(20))
    assignee: Mapped[str | None] = mapped_column(String(200))
    branch: Mapped[str | None] = mapped_column(String(300))
    pr_url: Mapped[str | None] = mapped_column(String(1000))
    source: Mapped[str | None] = mapped_column(String(1000))
    # What the story was made from, once: a GitHub issue redelivered or delivered twice at
    # the same moment cannot become two stories, whichever transaction commits first.
    origin_key: Mapped[str | None] = mapped_column(String(300), unique=True)
    # The ids of the stories of the same epic this one waits for (None: none).
    depends_on: Mapped[list[str] | None] = mapped_column(JSONDocument)
    # Why the story is blocked, while it is; cleared when it leaves ``blocked``.
    blocked_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_stories_created_at_id", "created_at", "id"),)


class StoryLabelRow(Base):
    __tablename__ = "story_labels"

    story_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("stories.id", ondelete="CASCADE"), primary_key=True
    )
    label: Mapped[str] = mapped_column(String(100), primary_key=True, index=True)
