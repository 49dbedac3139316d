"""Tables of the notification channels and of the log of what was sent to them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from orchestrate.core.db import Base, JSONDocument, UTCDateTime

_BIG_ID = BigInteger().with_variant(Integer(), "sqlite")


class NotificationChannelRow(Base):
    """A place notifications go. Credentials are not here: ``secrets`` names them in the
    encrypted secret store."""

    __tablename__ = "notification_channels"

    name: Mapped[str] = mapped_column(String(63), primary_key=True)
    type: Mapped[str] = mapped_column(String(20))
    config: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    secrets: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    """``{"names": {role: secret name}, "owned": [secret names notify add stored]}``."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class NotificationLogRow(Base):
    """One attempt at sending a notification to a channel, or the decision to skip it.
    Kept when the channel is removed; pruned by ``retention_notifications``."""

    __tablename__ = "notification_log"

    id: Mapped[int] = mapped_column(_BIG_ID, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(63))
    notification_id: Mapped[str] = mapped_column(String(200), index=True)
    group_key: Mapped[str] = mapped_column(Text)
    group_hash: Mapped[str] = mapped_column(String(64))
    """SHA-256 of ``group_key``: group keys hold label values of any length."""
    status: Mapped[str] = mapped_column(String(20))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    """When the notification was enqueued: orders a group's notifications."""
    attempt: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(20))
    error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("ix_notification_log_channel_group", "channel", "group_hash", "outcome"),
    )
