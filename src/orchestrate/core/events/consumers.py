"""Durable consumers: handlers that get every matching event at least once, in order.

A capability declares a :class:`Consumer` (a name, the event types it wants, an
``async (event) -> None`` handler) and lists its factory in ``app/capabilities.py``;
every worker runs all of them (:func:`run_consumers`). Each consumer's position is a
row of ``event_consumers``:

* one worker at a time runs a consumer: it holds the row's lease, renews it while it
  works, and another worker takes over once the lease has expired;
* events are read in log order from the stored cursor, handled one by one, and the
  cursor moves past the handled ones in one write per batch, so a worker that dies
  mid-batch leaves the cursor before the events it had not confirmed: the next one
  handles them again (at least once; handlers must tolerate a repeat);
* a handler that raises stops the batch at that event; the cursor keeps it, the error
  is logged and stored on the row, and the event is tried again after a back-off
  (1 s doubling to 5 minutes). Nothing is skipped.

A consumer whose effects are rows of the same database may instead take whole batches
in the cursor's own transaction (``Consumer(name, batch=apply)``): ``apply(uow, events)``
writes its rows and the cursor moves past the batch in the same commit, so a batch is
applied exactly once however workers die or race (monitoring's metric totals).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import structlog

from orchestrate.core.errors import Conflict, NotFound
from orchestrate.core.events import _store
from orchestrate.core.events.log import EventFilter, read_events
from orchestrate.core.events.model import Event
from orchestrate.core.uow import UnitOfWork

if TYPE_CHECKING:
    from orchestrate.core.runtime import Runtime

log = structlog.get_logger(__name__)

EventHandler = Callable[[Event], Awaitable[None]]
BatchHandler = Callable[[UnitOfWork, Sequence[Event]], Awaitable[None]]
"""Applies a batch inside the open unit of work that also moves the consumer's cursor;
it must not commit (the consumer loop does)."""

LEASE = timedelta(seconds=30)
_FIRST_BACKOFF = 1.0
_MAX_BACKOFF = 300.0
_IDLE_SECONDS = 5.0


@dataclass(frozen=True)
class Consumer:
    """A named handler of the events matching ``types`` (none: every event)."""

    name: str
    handler: EventHandler | None = None
    """Handles one event at a time; at least once (a repeat must be harmless)."""
    types: tuple[str, ...] = ()
    batch_size: int = 100
    lease: timedelta = LEASE
    """How long a worker that stopped answering keeps the consumer from the others."""
    batch: BatchHandler | None = None
    """Instead of ``handler``: applies a whole batch in the transaction that moves the
    cursor past it, so each batch takes effect exactly once."""
    tick: timedelta | None = None
    """With ``batch``: also call it with no events once the consumer has been idle this
    long (in a transaction that checks the lease), for time-driven work such as an
    alert's ``for``; one worker at a time runs it, like the batches."""

    def __post_init__(self) -> None:
        if (self.handler is None) == (self.batch is None):
            raise ValueError(f"consumer {self.name!r} needs exactly one of handler and batch")
        if self.tick is not None and self.batch is None:
            raise ValueError(f"consumer {self.name!r}: a tick calls batch, which it lacks")

    @property
    def only(self) -> EventFilter:
        return EventFilter(types=self.types)


@dataclass(frozen=True)
class ConsumerStatus:
    name: str
    cursor: int
    lag: int
    """How many events of the log lie after the cursor (of any type)."""
    lease_owner: str | None
    failures: int
    last_error: str | None
    updated_at: datetime


async def slowest_consumer_cursor(uow: UnitOfWork) -> int | None:
    """The lowest cursor of every consumer known to the database (None: there are none).

    Pruning the log must keep every event after it: a consumer has not handled them yet.
    """
    async with uow:
        return await _store.lowest_cursor(uow)


async def retention_floor(uow: UnitOfWork) -> int | None:
    """The lowest event id pruning must keep (None while no consumer holds the log back).

    Every event a consumer has not handled stays, and so does the event its cursor names,
    since that is where it resumes in log order.
    """
    async with uow:
        return await _store.first_id_to_keep(uow)


async def consumer_statuses(uow: UnitOfWork) -> list[ConsumerStatus]:
    """Every consumer's cursor and how far behind the log it is, by name."""
    async with uow:
        rows = await _store.all_consumers(uow)
        statuses = []
        for row in rows:
            lag = await _store.events_after(uow, row.cursor)
            statuses.append(
                ConsumerStatus(
                    name=row.name,
                    cursor=row.cursor,
                    lag=lag,
                    lease_owner=row.lease_owner,
                    failures=row.failures,
                    last_error=row.last_error,
                    updated_at=row.updated_at,
                )
            )
        return statuses


async def forget_consumer(uow: UnitOfWork, name: str) -> ConsumerStatus:
    """Drop a consumer's cursor row: the consumer starts from the log's start if it runs
    again, and no longer holds back event pruning.

    For a consumer removed from the code (or renamed): its row keeps the retention floor
    where it stopped forever. Refused while a worker holds its lease, since that worker
    would only recreate the row at the start of the log.
    """
    async with uow:
        row = await _store.delete_consumer(uow, name)
        if row is None:
            raise NotFound(f"No event consumer named '{name}'", consumer=name)
        now = uow.now()
        if row.lease_owner and row.lease_expires_at and row.lease_expires_at > now:
            raise Conflict(
                f"Event consumer '{name}' is running on {row.lease_owner}; stop that "
                "worker (or remove the consumer from its code) first",
                consumer=name,
            )
        status = ConsumerStatus(
            name=row.name,
            cursor=row.cursor,
            lag=await _store.events_after(uow, row.cursor),
            lease_owner=row.lease_owner,
            failures=row.failures,
            last_error=row.last_error,
            updated_at=row.updated_at,
        )
        await uow.commit()
        return status


async def run_consumers(
    runtime: Runtime, consumers: Sequence[Consumer], owner: str, stop: asyncio.Event
) -> None:
    """Run every consumer until ``stop`` is set; each in its own task."""
    names = [consumer.name for consumer in consumers]
    if len(set(names)) != len(names):
        raise ValueError(f"consumer names must be unique: {sorted(names)}")
    tasks = [
        asyncio.create_task(
            _ConsumerLoop(runtime, consumer, owner, stop).run(), name=f"consumer-{consumer.name}"
        )
        for consumer in consumers
    ]
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


class _ConsumerLoop:
    def __init__(
        self, runtime: Runtime, consumer: Consumer, owner: str, stop: asyncio.Event
    ) -> None:
        self.runtime = runtime
        self.new_uow = runtime.uow
        self.feed = runtime.events
        self.consumer = consumer
        self.owner = owner
        self.stop = stop
        self.backoff = _FIRST_BACKOFF
        self.has_row = False
        self.last_applied = 0.0
        """When ``batch`` last ran (monotonic), for the tick."""

    async def run(self) -> None:
        name = self.consumer.name
        try:
            while not self.stop.is_set() and not self.feed.is_closed:
                try:
                    await self._turn()
                except Exception:  # the database went away for a moment: try again later
                    log.exception("event_consumer_turn_failed", consumer=name)
                    await self._sleep(self.backoff)
                    self.backoff = min(self.backoff * 2, _MAX_BACKOFF)
        finally:
            with contextlib.suppress(Exception):
                await _store.release_lease(self.new_uow(), name, self.owner)

    async def _turn(self) -> None:
        name = self.consumer.name
        seen = self.feed.generation
        if not self.has_row:
            await _store.ensure_consumer(self.new_uow(), name)
            self.has_row = True
        lease = self.consumer.lease
        cursor = await _store.take_lease(self.new_uow(), name, self.owner, lease)
        if cursor is None:  # another worker runs it; look again when its lease may be over
            await self._sleep(lease.total_seconds() / 3)
            return
        if not await self._batch(cursor):
            await self._tick(cursor)
            await self._idle(seen)

    async def _tick(self, cursor: int) -> None:
        """Call ``batch`` with no events when the consumer's tick is due."""
        consumer = self.consumer
        if consumer.tick is None or consumer.batch is None:
            return
        if time.monotonic() - self.last_applied < consumer.tick.total_seconds():
            return
        self.last_applied = time.monotonic()
        try:
            async with self.new_uow() as uow:
                held = await _store.move_cursor(
                    uow, consumer.name, self.owner, cursor, cursor, consumer.lease
                )
                if held:
                    await consumer.batch(uow, ())
                    await uow.commit()
        except Exception:
            log.exception("event_consumer_tick_failed", consumer=consumer.name)

    async def _batch(self, cursor: int) -> bool:
        """Handle one batch from ``cursor``; True when there may be more right away."""
        consumer = self.consumer
        async with self.new_uow(read_only=True) as uow:  # a fresh snapshot per batch
            events = await read_events(
                uow.session, after=cursor, limit=consumer.batch_size, only=consumer.only
            )
        if not events:
            return False
        if consumer.batch is not None:
            return await self._apply(cursor, events, consumer.batch)
        handler = consumer.handler
        assert handler is not None  # __post_init__: one of the two is set
        handled = cursor
        error: BaseException | None = None
        renewing = asyncio.create_task(self._keep_lease())
        try:
            for event in events:
                try:
                    await handler(event)
                except Exception as failure:
                    error = failure
                    log.exception(
                        "event_consumer_failed",
                        consumer=consumer.name,
                        event_id=event.id,
                        event_type=event.type,
                    )
                    break
                handled = event.id
        finally:
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing
        still_ours = await _store.advance(
            self.new_uow(), consumer.name, self.owner, handled, consumer.lease, error
        )
        if error is not None or not still_ours:
            await self._sleep(self.backoff)
            self.backoff = min(self.backoff * 2, _MAX_BACKOFF)
            return False
        self.backoff = _FIRST_BACKOFF
        return True

    async def _apply(self, cursor: int, events: Sequence[Event], apply: BatchHandler) -> bool:
        """Apply ``events`` and move the cursor past them in one transaction."""
        consumer = self.consumer
        moved = False
        try:
            async with self.new_uow() as uow:
                # The cursor first: its row lock keeps a worker taking the lease over
                # from applying the same batch until this transaction has ended.
                moved = await _store.move_cursor(
                    uow, consumer.name, self.owner, cursor, events[-1].id, consumer.lease
                )
                if moved:
                    self.last_applied = time.monotonic()
                    await apply(uow, events)
                    await uow.commit()
        except Exception as failure:
            log.exception(
                "event_consumer_failed",
                consumer=consumer.name,
                event_id=events[0].id,
                event_type=events[0].type,
            )
            await _store.advance(
                self.new_uow(), consumer.name, self.owner, cursor, consumer.lease, failure
            )
            moved = False
        if not moved:
            await self._sleep(self.backoff)
            self.backoff = min(self.backoff * 2, _MAX_BACKOFF)
            return False
        self.backoff = _FIRST_BACKOFF
        return True

    async def _keep_lease(self) -> None:
        lease = self.consumer.lease
        while True:
            await asyncio.sleep(lease.total_seconds() / 3)
            with contextlib.suppress(Exception):
                await _store.renew_lease(self.new_uow(), self.consumer.name, self.owner, lease)

    async def _idle(self, seen: int) -> None:
        tick = self.consumer.tick
        idle = _IDLE_SECONDS if tick is None else min(_IDLE_SECONDS, tick.total_seconds())
        waiter = asyncio.create_task(self.feed.wait(seen, idle))
        stopper = asyncio.create_task(self.stop.wait())
        await asyncio.wait({waiter, stopper}, return_when=asyncio.FIRST_COMPLETED)
        for task in (waiter, stopper):
            task.cancel()
        await asyncio.gather(waiter, stopper, return_exceptions=True)

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stop.wait(), seconds)
