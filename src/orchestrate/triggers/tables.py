"""Tables of the triggers capability: the webhook deliveries received from GitHub and GitLab."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from orchestrate.core.db import Base, JSONDocument, UTCDateTime


class WebhookDeliveryRow(Base):
    """One delivery as received: its headers (signature removed) and its raw body.

    The body is kept as the exact text GitHub sent (UTF-8 JSON), so a redelivery or
    ``webhook show`` sees byte for byte what was signed, not a re-serialisation.
    """

    __tablename__ = "webhook_deliveries"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    # GitHub redelivers with the same X-GitHub-Delivery; the unique index makes that a no-op.
    delivery_id: Mapped[str] = mapped_column(String(100), unique=True)
    # Which receiver stored it; rows from before GitLab deliveries were GitHub's.
    forge: Mapped[str] = mapped_column(String(20), default="github", server_default="github")
    event: Mapped[str] = mapped_column(String(100), index=True)
    action: Mapped[str | None] = mapped_column(String(100))
    repository: Mapped[str | None] = mapped_column(String(300))
    headers: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument, nullable=True)

    __table_args__ = (Index("ix_webhook_deliveries_received_at_id", "received_at", "id"),)
