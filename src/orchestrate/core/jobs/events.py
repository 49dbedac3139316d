"""The job queue's events, with the job's id as subject."""

from __future__ import annotations

from typing import ClassVar

from orchestrate.core.events import DomainEvent


class JobDeadLettered(DomainEvent):
    """A job failed its last attempt; ``error`` is the start of its last error."""

    event_type: ClassVar[str] = "job.dead"
    kind: str
    error: str


class JobRetried(DomainEvent):
    """An operator put a dead or cancelled job back in the queue."""

    event_type: ClassVar[str] = "job.retried"
    kind: str


class JobCancelled(DomainEvent):
    event_type: ClassVar[str] = "job.cancelled"
    kind: str
