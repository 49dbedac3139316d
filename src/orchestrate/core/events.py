"""The append-only event log: every state change writes one row in its own transaction.

Rows are written through ``record_event`` inside a unit of work, so an event exists
exactly when the change it describes was committed; the unit of work publishes them
to the in-process bus after the commit. Payloads are masked (``core.masking``) before
they are stored. Readers follow the log with ``read_events``
from a cursor (the last id they saw).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import BigInteger, Index, Integer, String, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from orchestrate.core.bus import Event
from orchestrate.core.db import Base, JSONDocument, UTCDateTime
from orchestrate.core.masking import process_masker

if TYPE_CHECKING:
    from orchestrate.core.uow import UnitOfWork


class EventRow(Base):
    __tablename__ = "events"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    type: Mapped[str] = mapped_column(String(100))
    subject: Mapped[str] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_events_subject_id", "subject", "id"),
        Index("ix_events_type_id", "type", "id"),
    )

    def to_event(self) -> Event:
        return Event(
            id=self.id,
            type=self.type,
            subject=self.subject,
            payload=dict(self.payload),
            created_at=self.created_at,
        )


def record_event(
    uow: UnitOfWork, type: str, subject: str, payload: dict[str, Any] | None = None
) -> EventRow:
    """Add an event to the unit of work's transaction; it is published after commit.

    Every secret value in ``payload`` is replaced by ``***`` first, so neither the
    stored log nor anything streamed from it (SSE, ``--follow``) can carry one.
    """
    masked = process_masker().mask_value(payload) if payload else {}
    row = EventRow(type=type, subject=subject, payload=masked, created_at=uow.now())
    uow.session.add(row)
    uow.track_event(row)
    return row


async def read_events(
    session: AsyncSession,
    *,
    after_id: int = 0,
    limit: int = 100,
    subject: str | None = None,
    type_prefix: str | None = None,
) -> Sequence[Event]:
    """Events with an id above ``after_id``, oldest first: the cursor API of the log."""
    query = select(EventRow).where(EventRow.id > after_id).order_by(EventRow.id).limit(limit)
    if subject is not None:
        query = query.where(EventRow.subject == subject)
    if type_prefix is not None:
        query = query.where(EventRow.type.startswith(type_prefix))
    rows = (await session.scalars(query)).all()
    return [row.to_event() for row in rows]
