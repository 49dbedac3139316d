"""Use cases of the timeline: pages of the log, following it live, the consumers' lag.

The log itself (its table, cursors, the visibility horizon, the process's feed) is the
kernel's (``core.events``); this capability is how people and clients read it.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator

from orchestrate.core.events import (
    ConsumerStatus,
    Event,
    EventFilter,
    consumer_statuses,
    forget_consumer,
    last_event_id,
    read_events,
    read_recent,
    slowest_consumer_cursor,
)
from orchestrate.core.pagination import Page, check_page_size
from orchestrate.core.runtime import Runtime
from orchestrate.core.uow import UnitOfWork

__all__ = [
    "ConsumerStatus",
    "EventFilter",
    "follow_events",
    "forget_consumer",
    "list_consumers",
    "list_events",
    "recent_events",
    "slowest_consumer_cursor",
    "start_of_new_events",
]


async def list_events(
    uow: UnitOfWork, *, after: int = 0, only: EventFilter | None = None, limit: int = 50
) -> Page[Event]:
    """The events after the event ``after``, oldest first; ``next_cursor`` (the last
    item's id) when the page is full, so more may follow."""
    check_page_size(limit)
    async with uow:
        events = list(await read_events(uow.session, after=after, limit=limit + 1, only=only))
    page = events[:limit]
    more = len(events) > limit
    return Page(page, str(page[-1].id) if more else None)


async def recent_events(
    uow: UnitOfWork, *, only: EventFilter | None = None, limit: int = 20
) -> list[Event]:
    """The last ``limit`` events, oldest first (``events tail`` without ``--after``)."""
    check_page_size(limit)
    async with uow:
        return list(await read_recent(uow.session, limit=limit, only=only))


async def start_of_new_events(uow: UnitOfWork) -> int:
    """The cursor of a reader that wants only events from now on."""
    async with uow:
        return await last_event_id(uow.session)


def follow_events(
    runtime: Runtime, after: int, only: EventFilter | None = None
) -> AsyncGenerator[list[Event], None]:
    """Batches of the events after ``after`` as they commit in any process (empty batches
    every few seconds while idle), until the process's runtime closes."""
    return runtime.events.follow(after, only)


async def list_consumers(uow: UnitOfWork) -> list[ConsumerStatus]:
    return await consumer_statuses(uow)
