"""Job states, the claimed-job value handed to handlers, and the retry policy."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

DEFAULT_MAX_ATTEMPTS = 5


class JobStatus(StrEnum):
    """``queued → running → succeeded``; a failed attempt goes back to ``queued`` until the
    attempts are used up, then to ``dead`` (the dead-letter state, kept with its last error).
    """

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    DEAD = "dead"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Job:
    """A claimed job: what to do, and which attempt this is.

    ``payload`` is the stored JSON as written; handlers read ``JobContext.payload``,
    the same JSON parsed into the kind's model.
    """

    id: str
    kind: str
    payload: Any
    attempt: int
    max_attempts: int
    created_at: datetime

    @property
    def is_last_attempt(self) -> bool:
        return self.attempt >= self.max_attempts


@dataclass(frozen=True)
class JobInfo:
    """Everything stored about a job, for listings and inspection."""

    id: str
    kind: str
    payload: Any
    """The stored JSON (normally an object), shown as written."""
    status: JobStatus
    priority: int
    attempts: int
    max_attempts: int
    run_at: datetime
    lease_owner: str | None
    lease_expires_at: datetime | None
    idempotency_key: str | None
    last_error: str | None
    result: Any
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


@dataclass(frozen=True)
class QueueStats:
    """Counts by (kind, status) and the age of the oldest job waiting to start."""

    counts: dict[tuple[str, JobStatus], int]
    oldest_due_age: timedelta | None
    oldest_due_age_by_kind: dict[str, timedelta] = field(default_factory=dict)
    """Per kind with a due job waiting: how long its oldest has waited."""

    @property
    def depth(self) -> int:
        return sum(n for (_, status), n in self.counts.items() if status is JobStatus.QUEUED)

    @property
    def kinds(self) -> set[str]:
        """The kinds with jobs queued, running or dead."""
        return {kind for kind, _ in self.counts}


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter: attempt n waits about base * 2**(n-1), capped.

    Half of each delay is fixed and half random ("equal jitter"), so retries of jobs that
    failed together spread out without ever retrying sooner than half the nominal delay.
    """

    base: timedelta = timedelta(seconds=2)
    cap: timedelta = timedelta(minutes=10)

    def delay_after(self, attempt: int, rand: Callable[[], float] = random.random) -> timedelta:
        exponent = min(max(attempt - 1, 0), 62)
        nominal = min(self.cap.total_seconds(), self.base.total_seconds() * (2**exponent))
        return timedelta(seconds=nominal / 2 + rand() * nominal / 2)


class JobFailed(Exception):
    """Raise from a handler to fail the attempt with a clean message (no traceback).

    With ``retry=False`` the job goes straight to the dead-letter state. ``retry_after``
    asks for the next attempt no sooner than that (a service's ``Retry-After``); the
    backoff still applies when it is longer.
    """

    def __init__(
        self, message: str, *, retry: bool = True, retry_after: timedelta | None = None
    ) -> None:
        super().__init__(message)
        self.retry = retry
        self.retry_after = retry_after


class LeaseLost(Exception):
    """This worker no longer owns the job (its lease expired and another worker took it);
    the attempt's effects must not be committed."""


@dataclass(frozen=True)
class WorkerHeartbeat:
    """A worker process as its last heartbeat described it."""

    id: str
    """The job runner's worker id: the ``lease_owner`` of the jobs it runs."""
    hostname: str
    pid: int
    version: str
    started_at: datetime
    last_heartbeat_at: datetime
    running_jobs: int

    def age_at(self, now: datetime) -> timedelta:
        """How long ago its last heartbeat was (never negative)."""
        return max(now - self.last_heartbeat_at, timedelta(0))
