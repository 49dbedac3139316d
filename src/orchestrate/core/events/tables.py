"""The event log and the cursors of its durable consumers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, FetchedValue, Index, Integer, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from orchestrate.core.db import Base, JSONDocument, UTCDateTime
from orchestrate.core.events.model import Event


class EventRow(Base):
    __tablename__ = "events"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    type: Mapped[str] = mapped_column(String(100))
    subject: Mapped[str] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    version: Mapped[int] = mapped_column(SmallInteger(), default=1, server_default="1")
    # On PostgreSQL the id of the writing transaction (``pg_current_xact_id()``, set by
    # the server): readers order by it and stop at the oldest running transaction, so
    # an event whose id was allocated early but committed late is never skipped.
    # SQLite has one writer at a time, so ids commit in order and this stays empty.
    txid: Mapped[int | None] = mapped_column(BigInteger(), server_default=FetchedValue())

    __table_args__ = (
        Index("ix_events_subject_id", "subject", "id"),
        Index("ix_events_type_id", "type", "id"),
        Index("ix_events_txid_id", "txid", "id"),
        Index("ix_events_type_created_at", "type", "created_at"),
    )

    def to_event(self) -> Event:
        return Event(
            id=self.id,
            type=self.type,
            subject=self.subject,
            payload=dict(self.payload),
            created_at=self.created_at,
            version=self.version,
        )


class EventConsumerRow(Base):
    """A durable consumer's position in the log and who runs it now."""

    __tablename__ = "event_consumers"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    cursor: Mapped[int] = mapped_column(BigInteger(), default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    failures: Mapped[int] = mapped_column(Integer(), default=0)
    last_error: Mapped[str | None] = mapped_column(Text())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
