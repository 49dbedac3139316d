"""The unit of work: one transaction, its clock, and the events it records.

Services receive a ``UnitOfWork`` and do everything for one use case inside
``async with uow:`` ... ``await uow.commit()``. Leaving the block without committing
rolls back, so a failure half-way loses nothing already stored.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from types import TracebackType
from typing import Any, Self

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from orchestrate.core.clock import Clock, SystemClock
from orchestrate.core.db import Database, WriteGate, read_only_options

EventWriter = Callable[[AsyncSession, list[dict[str, Any]]], Awaitable[None]]
"""Inserts a transaction's event rows (``core.events.log``) just before it commits."""

EventsCommitted = Callable[[], None]
"""Told that a transaction of this process committed events (wakes its live readers)."""


class UnitOfWork:
    """One database transaction plus the events recorded in it."""

    def __init__(
        self,
        database: Database,
        clock: Clock | None = None,
        on_events: EventsCommitted | None = None,
        *,
        read_only: bool = False,
        urgent: bool = False,
    ) -> None:
        """``urgent``: someone waits on this transaction (an HTTP request); on SQLite it
        goes before background writers waiting for the single writer's turn."""
        self.database = database
        self.clock: Clock = clock or SystemClock()
        self.on_events = on_events
        self.read_only = read_only
        self.urgent = urgent
        self._session: AsyncSession | None = None
        self._gate: WriteGate | None = None
        self._pending_events: list[dict[str, Any]] = []
        self._event_writer: EventWriter | None = None
        self._after_commit: list[Callable[[], None]] = []
        self._before_commit: list[Callable[[], Awaitable[None]]] = []
        self._last_before_commit: list[Callable[[], Awaitable[None]]] = []
        self._done_once: set[str] = set()
        self._notifications: dict[str, str] = {}

    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            raise RuntimeError("UnitOfWork used outside 'async with uow:'")
        return self._session

    def now(self) -> datetime:
        return self.clock.now()

    def sibling(self, *, read_only: bool = False) -> UnitOfWork:
        """A separate unit of work on the same database, clock and event wake-up.

        For a service that must call another capability's service (which opens its
        own transaction) before or after its own. It is as urgent as this one.
        """
        return UnitOfWork(
            self.database, self.clock, self.on_events, read_only=read_only, urgent=self.urgent
        )

    def track_event(self, row: dict[str, Any], writer: EventWriter) -> None:
        """Keep an event row for ``writer`` to insert with the others when this commits.

        They are written after the ``before_commit`` callbacks, so an event one of them
        records is committed too.
        """
        self._pending_events.append(row)
        self._event_writer = writer

    def before_commit(self, callback: Callable[[], Awaitable[None]], *, last: bool = False) -> None:
        """Await ``callback`` inside this transaction just before it commits.

        For a synchronous state change (a state machine function) that must add async
        work to the same transaction, such as enqueueing a job when a run ends.
        Callbacks run in the order given, except that ``last`` ones run after all the
        others, even those given after them: for writes whose row locks must come last
        in the transaction (PostgreSQL), such as the totals an agent tree shares.
        """
        (self._last_before_commit if last else self._before_commit).append(callback)

    def notify_on_commit(self, channel: str, payload: str = "") -> None:
        """On PostgreSQL, ``NOTIFY channel`` as this transaction commits (once per channel).

        The notifications of one transaction (new jobs, new events) go out in one
        statement just before ``COMMIT``: PostgreSQL delivers them on commit, and one
        round trip is saved for each channel beyond the first. Elsewhere a no-op.
        """
        if self.database.dialect == "postgresql":
            self._notifications.setdefault(channel, payload)

    def first_time(self, what: str) -> bool:
        """True the first time ``what`` is asked about in this transaction, then False.

        For work a transaction needs once however often it is asked for, such as telling
        other workers that it queued jobs (one ``NOTIFY`` is a round trip on PostgreSQL).
        """
        if what in self._done_once:
            return False
        self._done_once.add(what)
        return True

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once this transaction has committed (never on rollback)."""
        self._after_commit.append(callback)

    async def __aenter__(self) -> Self:
        if self._session is not None:
            raise RuntimeError("UnitOfWork is not re-entrant; create one per use case")
        gate = None if self.read_only else self.database.write_gate
        if gate is not None:
            await gate.acquire(urgent=self.urgent)
        self._gate = gate
        self._session = self.database.sessions()
        if self.read_only:
            options = read_only_options(self.database.dialect)
            await self._session.connection(execution_options=options)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        session = self.session
        try:
            # close() rolls back anything uncommitted but, unlike rollback(), leaves the
            # loaded objects readable, so services may return what they read.
            await session.close()
        finally:
            self._session = None
            if self._gate is not None:
                self._gate.release()
                self._gate = None
            self._pending_events.clear()
            self._after_commit.clear()
            self._before_commit.clear()
            self._last_before_commit.clear()
            self._done_once.clear()
            self._notifications.clear()

    async def commit(self) -> None:
        """Commit the transaction, then tell this process's live readers about its events."""
        session = self.session
        while self._before_commit or self._last_before_commit:
            queue = self._before_commit or self._last_before_commit
            prepare = queue.pop(0)
            await prepare()
        await session.flush()
        if self._pending_events and self._event_writer is not None:
            await self._event_writer(session, self._pending_events)
        has_events = bool(self._pending_events)
        if self._notifications:
            await session.execute(*_notify_statement(self._notifications))
        await session.commit()
        callbacks = list(self._after_commit)
        self._pending_events.clear()
        self._after_commit.clear()
        self._done_once.clear()
        self._notifications.clear()
        for callback in callbacks:
            callback()
        if self.on_events is not None and has_events:
            self.on_events()

    async def rollback(self) -> None:
        await self.session.rollback()
        self._pending_events.clear()
        self._after_commit.clear()
        self._before_commit.clear()
        self._last_before_commit.clear()
        self._done_once.clear()
        self._notifications.clear()


def _notify_statement(notifications: dict[str, str]) -> tuple[Any, dict[str, str]]:
    """``SELECT pg_notify(:c0, :p0), pg_notify(:c1, :p1), ...`` and its parameters."""
    calls, params = [], {}
    for n, (channel, payload) in enumerate(sorted(notifications.items())):
        calls.append(f"pg_notify(:c{n}, :p{n})")
        params[f"c{n}"], params[f"p{n}"] = channel, payload
    return text(f"SELECT {', '.join(calls)}"), params
