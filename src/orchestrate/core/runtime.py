"""What every entry point needs to do work: settings, database, clock and the event feed.

The API, the CLI and the worker each open one ``Runtime`` and pass it (or a unit of
work made from it) to services; tests build one with a ``FrozenClock``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from orchestrate.core.clock import Clock, SystemClock
from orchestrate.core.db import Database, create_database
from orchestrate.core.events.feed import EventFeed
from orchestrate.core.settings import Settings
from orchestrate.core.uow import UnitOfWork


@dataclass
class Runtime:
    settings: Settings
    database: Database
    clock: Clock = field(default_factory=SystemClock)
    events: EventFeed = field(init=False)
    """This process's live view of the event log (see ``core.events.feed``)."""

    def __post_init__(self) -> None:
        self.events = EventFeed(self.database)

    @classmethod
    def open(cls, settings: Settings, clock: Clock | None = None) -> Runtime:
        settings.home.mkdir(parents=True, exist_ok=True)
        database = create_database(
            settings.database_url_value, pool_size=settings.database_pool_size
        )
        return cls(settings=settings, database=database, clock=clock or SystemClock())

    def uow(self, *, read_only: bool = False, urgent: bool = False) -> UnitOfWork:
        """A fresh unit of work on this runtime's database and clock; its events wake the feed.

        ``urgent`` for a transaction an HTTP request waits on (see ``WriteGate``).
        """
        return UnitOfWork(
            self.database, self.clock, self.events.wake, read_only=read_only, urgent=urgent
        )

    async def close(self) -> None:
        await self.events.close()
        await self.database.dispose()
