"""Tables of change sets: the sets, and their members in merge order.

``(change_set_id, repository_key)`` is unique: one member per repository in a set.
``poll_round`` numbers the merge job's rounds, so each round's idempotency key is new
and a round a crashed worker left behind is not enqueued twice.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from orchestrate.core.db import Base, JSONDocument, UTCDateTime


class ChangeSetRow(Base):
    """One change spanning several repositories."""

    __tablename__ = "change_sets"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(20), index=True)
    failure_reason: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(200))
    poll_round: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ChangeSetMemberRow(Base):
    """One repository's part of a change set, at ``position`` in merge order."""

    __tablename__ = "change_set_members"
    __table_args__ = (UniqueConstraint("change_set_id", "repository_key"),)

    change_set_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("change_sets.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    repository: Mapped[str] = mapped_column(String(200))
    # The name case-folded, as the registry compares names.
    repository_key: Mapped[str] = mapped_column(String(200))
    agent_id: Mapped[str | None] = mapped_column(String(40), index=True)
    # Names of the members' repositories this one merges after.
    depends_on: Mapped[list[str]] = mapped_column(JSONDocument)
    state: Mapped[str] = mapped_column(String(20))
    pr_number: Mapped[int | None] = mapped_column(Integer)
    pr_url: Mapped[str | None] = mapped_column(String(1000))
    note: Mapped[str | None] = mapped_column(Text)
    merged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
