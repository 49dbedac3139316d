"""In-process publish/subscribe for events after they are committed.

The ``events`` table is the durable record; the bus only tells code in this process
that new rows exist, so handlers (metrics, notifications, live views) react at once
instead of polling. A failing handler is logged and never breaks the publisher.
"""

from __future__ import annotations

import asyncio
import fnmatch
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Event:
    """One committed fact: ``story.created`` about ``story_01…`` with its payload."""

    id: int
    type: str
    subject: str
    payload: dict[str, Any]
    created_at: datetime


EventHandler = Callable[[Event], Awaitable[None]]


class EventBus:
    """Fan-out of committed events to subscribers whose pattern matches the type."""

    def __init__(self) -> None:
        self._handlers: list[tuple[str, EventHandler]] = []

    def subscribe(self, pattern: str, handler: EventHandler) -> Callable[[], None]:
        """Call ``handler`` for every event whose type matches the glob ``pattern``.

        Returns a function that removes the subscription.
        """
        entry = (pattern, handler)
        self._handlers.append(entry)

        def unsubscribe() -> None:
            if entry in self._handlers:
                self._handlers.remove(entry)

        return unsubscribe

    async def publish(self, events: Sequence[Event]) -> None:
        for item in events:
            for pattern, handler in list(self._handlers):
                if not fnmatch.fnmatchcase(item.type, pattern):
                    continue
                try:
                    await handler(item)
                except Exception:
                    log.exception("event_handler_failed", event_type=item.type, event_id=item.id)

    @asynccontextmanager
    async def stream(
        self, pattern: str = "*", maxsize: int = 1000
    ) -> AsyncIterator[asyncio.Queue[Event]]:
        """A queue that receives matching events while the context is open.

        When a slow reader lets the queue fill up, further events are dropped for it;
        readers that must not miss anything re-read the ``events`` table from a cursor.
        """
        queue: asyncio.Queue[Event] = asyncio.Queue(maxsize=maxsize)

        async def enqueue(item: Event) -> None:
            if not queue.full():
                queue.put_nowait(item)

        unsubscribe = self.subscribe(pattern, enqueue)
        try:
            yield queue
        finally:
            unsubscribe()
