"""This process's ear on the event log: it learns that events committed, in any process,
and lets every live reader here catch up.

One watcher per process (started by the first reader, stopped with the runtime):

* a commit in this process wakes it directly (the unit of work calls :meth:`EventFeed.wake`);
* on PostgreSQL it ``LISTEN``s on ``orchestrate_events``; writers ``NOTIFY`` inside their
  transaction, so the wake-up arrives exactly when their rows become visible;
* on SQLite, which has no notifications, it looks at the newest event id every 200 ms.

A wake-up carries no events. Each reader reads the log from its own cursor
(``read_events``), so it gets every event in log order with no gap and no duplicate
however slow it is or however many wake-ups it sleeps through; a missed wake-up only
delays it until the next periodic check.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import OrderedDict
from collections.abc import AsyncGenerator
from typing import Any

import structlog
from sqlalchemy import func, select

from orchestrate.core.db import Database
from orchestrate.core.events.log import NOTIFY_CHANNEL, EventFilter, read_events
from orchestrate.core.events.model import Event
from orchestrate.core.events.tables import EventRow
from orchestrate.core.uow import UnitOfWork

log = structlog.get_logger(__name__)

_ReadKey = tuple[int, EventFilter | None, int]

SQLITE_POLL_SECONDS = 0.05
"""How often a process looks for events other processes committed to a SQLite log (one
``max(id)`` on the primary key, some tens of microseconds): live pages wait half of it
on average for news from a worker or the CLI."""
# On PostgreSQL rows can be held back behind a transaction that writes no event (and so
# sends no notification when it ends): readers look again this often while idle.
POSTGRES_RECHECK_SECONDS = 0.5
READ_TIMES_KEPT = 4096
"""Recent events whose first reading time ``EventFeed.read_at`` remembers."""
IDLE_SECONDS = 5.0


class EventFeed:
    """Wake-ups for live readers of the log, and ``follow`` built on them."""

    def __init__(self, database: Database) -> None:
        self._database = database
        self._generation = 0
        self._changed = asyncio.Event()
        self._watcher: asyncio.Task[None] | None = None
        self._closed = False
        # Reads of the log shared by readers at the same place (see ``_read``).
        self._reads: dict[_ReadKey, tuple[int, asyncio.Task[list[Event]]]] = {}
        # When each recent event was first read here (time.monotonic()), by id.
        self._read_at: OrderedDict[int, float] = OrderedDict()

    def read_at(self, event_id: int) -> float | None:
        """When this process first read event ``event_id`` from the log (``time.monotonic``),
        if it did so recently: a transaction begun after that sees what the event's
        transaction committed. (Ids alone cannot tell: on PostgreSQL they commit out of
        order, so a higher id may be read before a lower one.)"""
        return self._read_at.get(event_id)

    @property
    def generation(self) -> int:
        """Bumped at every wake-up; pass it to :meth:`wait`."""
        return self._generation

    @property
    def is_closed(self) -> bool:
        return self._closed

    def wake(self) -> None:
        """Events committed: let every waiting reader look."""
        self._generation += 1
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def wait(self, seen: int, within: float) -> None:
        """Until a wake-up after generation ``seen``, ``within`` seconds, or closing."""
        self._start()
        if self._generation != seen or self._closed:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._changed.wait(), within)

    async def follow(
        self, after: int, only: EventFilter | None = None, *, limit: int = 500
    ) -> AsyncGenerator[list[Event], None]:
        """Batches of the events after ``after`` as they commit, until the feed closes.

        An empty batch comes at least every few seconds while nothing happens, so a
        caller can send keep-alives or notice that its client went away.
        """
        recheck = POSTGRES_RECHECK_SECONDS if self._database.dialect == "postgresql" else None
        cursor = after
        idle_since = asyncio.get_running_loop().time()
        while not self._closed:
            seen = self._generation
            events = await self._read(cursor, only, limit)
            now = asyncio.get_running_loop().time()
            if events:
                cursor = events[-1].id
                idle_since = now
                yield list(events)
                continue
            if now - idle_since >= IDLE_SECONDS:
                idle_since = now
                yield []
            await self.wait(seen, recheck or IDLE_SECONDS)

    async def _read(self, after: int, only: EventFilter | None, limit: int) -> list[Event]:
        """The events after ``after``; one read for every reader asking the same since the
        last wake-up.

        A wake-up wakes every live reader of the process at once (fifty open dashboards,
        say), and readers that kept up all stand at the same cursor: they share one read of
        the log instead of making fifty. A read started before a wake-up is not reused after
        it, so a reader never gets an answer older than the news that woke it.
        """
        key = (after, only, limit)
        found = self._reads.get(key)
        if found is None or found[0] != self._generation:
            if len(self._reads) > 256:  # stale entries of earlier generations
                self._reads = {k: v for k, v in self._reads.items() if v[0] == self._generation}
            task = asyncio.ensure_future(self._read_now(after, only, limit))
            task.add_done_callback(lambda done: self._forget_failed(key, done))
            found = self._reads[key] = (self._generation, task)
        return list(await asyncio.shield(found[1]))

    def _forget_failed(self, key: _ReadKey, task: asyncio.Task[list[Event]]) -> None:
        """A read that failed is not shared with the next reader: it tries again."""
        if task.cancelled() or task.exception() is not None:
            current = self._reads.get(key)
            if current is not None and current[1] is task:
                del self._reads[key]

    async def _read_now(self, after: int, only: EventFilter | None, limit: int) -> list[Event]:
        async with UnitOfWork(self._database, read_only=True) as uow:
            events = list(await read_events(uow.session, after=after, limit=limit, only=only))
        now = time.monotonic()
        for event in events:
            self._read_at.setdefault(event.id, now)
        while len(self._read_at) > READ_TIMES_KEPT:
            self._read_at.popitem(last=False)
        return events

    def _start(self) -> None:
        if self._watcher is None and not self._closed:
            self._watcher = asyncio.create_task(self._watch(), name="event-feed-watcher")

    async def _watch(self) -> None:
        if self._database.dialect == "postgresql":
            connection = await self._listen()
            if connection is not None:
                try:
                    await asyncio.Event().wait()  # notifications arrive as callbacks
                finally:
                    with contextlib.suppress(Exception):
                        await connection.close()
            return  # without a connection, readers fall back to their periodic look
        await self._poll()

    async def _listen(self) -> Any:
        try:
            import asyncpg

            url = self._database.engine.url
            dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
            connection = await asyncpg.connect(dsn)
            await connection.add_listener(NOTIFY_CHANNEL, lambda *_: self.wake())
        except Exception as error:  # readers still look every POSTGRES_RECHECK_SECONDS
            log.warning("event_listener_unavailable", error=str(error))
            return None
        return connection

    async def _poll(self) -> None:
        newest: int | None = -1  # the first look wakes readers that read before it began
        while True:
            try:
                async with self._database.engine.connect() as connection:
                    found = await connection.scalar(select(func.max(EventRow.id)))
            except Exception as error:  # the file may be busy or gone for a moment
                log.debug("event_poll_failed", error=str(error))
                found = newest
            if found != newest:
                self.wake()
            newest = found
            await asyncio.sleep(SQLITE_POLL_SECONDS)

    async def close(self) -> None:
        """Stop watching and end every ``follow``; idempotent."""
        self._closed = True
        self.wake()
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._watcher
            self._watcher = None
