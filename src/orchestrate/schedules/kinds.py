"""The job kinds of schedules and their payloads.

The kinds keep their original ``triggers.`` names and payload keys: jobs queued before
schedules became a capability of its own still run.
"""

from __future__ import annotations

from orchestrate.core.jobs import JobKind, JobPayload, NoPayload


class StartFires(JobPayload):
    """Decide and start the pending fires of these schedules (ids), each oldest first."""

    schedules: tuple[str, ...]


class FireRef(JobPayload):
    """One fire of a schedule (a ``schedule_fires`` row id)."""

    fire: str


FIRE_SCHEDULES = JobKind("triggers.fire_schedules", NoPayload)
"""Record every due fire time, then enqueue the next tick (one job per time slot)."""

START_FIRES = JobKind("triggers.start_fires", StartFires)
"""Apply the overlap policy to some schedules' pending fires and start their targets."""

START_SCHEDULED_AGENT = JobKind("triggers.start_scheduled_agent", FireRef)
"""Start the agent of one fire."""
