"""In-transaction announcements from one capability to the others that follow it.

A capability that owns a change (pipelines registering a pipeline) declares a ``Hook``
and announces each change inside the transaction that makes it; a capability that keeps
something in step (schedules, the ones a pipeline's YAML declares) subscribes. The
announcer never imports its followers, so no two capabilities import each other, and
both sides commit together: a subscriber that raises rolls the whole change back.

The event log (``core/events.py``) tells the world what happened after the commit; a
hook is for work that must be part of the same commit. Subscriptions are made once per
process by the wiring (``subscribe`` is idempotent), never as a side effect of an import.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from orchestrate.core.uow import UnitOfWork

T = TypeVar("T")

Subscriber = Callable[[UnitOfWork, T], Awaitable[None]]


class Hook(Generic[T]):
    """One kind of announcement (``pipeline.changed``) and the subscribers that follow it."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._subscribers: list[Subscriber[T]] = []

    def subscribe(self, subscriber: Subscriber[T]) -> None:
        """Call ``subscriber`` for every announcement; subscribing twice changes nothing."""
        if subscriber not in self._subscribers:
            self._subscribers.append(subscriber)

    def unsubscribe(self, subscriber: Subscriber[T]) -> None:
        if subscriber in self._subscribers:
            self._subscribers.remove(subscriber)

    @property
    def subscribers(self) -> tuple[Subscriber[T], ...]:
        return tuple(self._subscribers)

    async def announce(self, uow: UnitOfWork, value: T) -> None:
        """Await every subscriber in turn, inside ``uow``'s open transaction.

        Errors propagate: the announcer's transaction must not commit half a change.
        """
        for subscriber in list(self._subscribers):
            await subscriber(uow, value)
