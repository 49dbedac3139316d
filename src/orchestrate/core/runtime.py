"""What every entry point needs to do work: settings, database, clock and event bus.

The API, the CLI and the worker each open one ``Runtime`` and pass it (or a unit of
work made from it) to services; tests build one with a ``FrozenClock``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from orchestrate.core.bus import EventBus
from orchestrate.core.clock import Clock, SystemClock
from orchestrate.core.db import Database, create_database
from orchestrate.core.settings import Settings
from orchestrate.core.uow import UnitOfWork


@dataclass
class Runtime:
    settings: Settings
    database: Database
    clock: Clock = field(default_factory=SystemClock)
    bus: EventBus = field(default_factory=EventBus)

    @classmethod
    def open(cls, settings: Settings, clock: Clock | None = None) -> Runtime:
        settings.home.mkdir(parents=True, exist_ok=True)
        database = create_database(settings.database_url_value)
        return cls(settings=settings, database=database, clock=clock or SystemClock())

    def uow(self, *, read_only: bool = False, urgent: bool = False) -> UnitOfWork:
        """A fresh unit of work on this runtime's database, clock and bus.

        ``urgent`` for a transaction an HTTP request waits on (see ``WriteGate``).
        """
        return UnitOfWork(self.database, self.clock, self.bus, read_only=read_only, urgent=urgent)

    async def close(self) -> None:
        await self.database.dispose()
