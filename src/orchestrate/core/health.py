"""Health probes: a capability reports on itself to the health check without being
imported by it.

Monitoring (a layer above) reads the probes; the capability that owns a component
provides its probe once per process from its wiring (``provide`` is idempotent), the
way hooks are subscribed (``core.hooks``). A probe nobody provided reads as None: that
process does not run the component.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from orchestrate.core.uow import UnitOfWork

T = TypeVar("T")


@dataclass(frozen=True)
class SchedulerReading:
    """How the scheduler stands: its schedules and whether firing keeps up."""

    schedules: int
    active: int
    """Not paused."""
    next_due_at: datetime | None
    """The earliest fire time of an active schedule; in the past when one is due."""
    last_fired_at: datetime | None
    """The latest fire time any schedule has fired."""


class Probe(Generic[T]):
    """One component's reading, taken in the caller's entered unit of work."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._read: Callable[[UnitOfWork], Awaitable[T]] | None = None

    def provide(self, read: Callable[[UnitOfWork], Awaitable[T]]) -> None:
        self._read = read

    async def read(self, uow: UnitOfWork) -> T | None:
        return None if self._read is None else await self._read(uow)


scheduler_probe: Probe[SchedulerReading] = Probe("scheduler")
"""Provided by ``schedules`` (``schedules.service.report_health``)."""
