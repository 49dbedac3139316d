"""The events of schedules firing, with the schedule's id as subject."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from orchestrate.core.events import DomainEvent


class ScheduleFired(DomainEvent):
    """The scheduler recorded a due fire time of a schedule (not a manual trigger).

    ``lateness_seconds`` is how long after its fire time the fire was recorded: the
    scheduler's tick, a busy queue, or downtime caught up by the misfire policy.
    """

    event_type: ClassVar[str] = "schedule.fired"
    schedule: str
    fire_time: datetime
    lateness_seconds: float
