"""What health and the dashboard's summary say: pure values, their statuses and thresholds.

Each component of the platform gets a status; the whole is ``ok``, ``degraded`` (working,
but something needs a look: no live worker, a queue falling behind, schedules not fired)
or ``down`` (the database cannot be reached: nothing works).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum

QUEUE_DEPTH_DEGRADED = 1000
"""Jobs waiting to run (due or not) above which the queue is degraded."""
QUEUE_OLDEST_DEGRADED = timedelta(minutes=5)
"""How long the oldest due job may have waited before the queue is degraded."""
SCHEDULER_MARGIN = timedelta(minutes=2)
"""How far past its fire time an active schedule may be before the scheduler is stale:
firing ticks every 5 s, and a worker re-seeds a broken chain of ticks within a minute."""


class Status(StrEnum):
    OK = "ok"
    DEGRADED = "degraded"
    STALE = "stale"
    DOWN = "down"


@dataclass(frozen=True)
class DatabaseHealth:
    status: Status
    is_reachable: bool
    dialect: str
    latency_ms: float | None
    error: str | None = None


@dataclass(frozen=True)
class WorkerHealth:
    id: str
    hostname: str
    pid: int
    version: str
    started_at: datetime
    last_heartbeat_at: datetime
    heartbeat_age: timedelta
    running_jobs: int
    status: Status
    """``ok`` within three heartbeat intervals, ``stale`` after."""


@dataclass(frozen=True)
class WorkersHealth:
    status: Status
    """``degraded`` when no worker is alive (nothing runs queued work)."""
    heartbeat_interval: timedelta
    workers: tuple[WorkerHealth, ...]

    @property
    def alive(self) -> int:
        return sum(1 for worker in self.workers if worker.status is Status.OK)


@dataclass(frozen=True)
class QueueHealth:
    status: Status
    depth: int
    oldest_due_age: timedelta | None
    running: int
    dead: int


@dataclass(frozen=True)
class SchedulerHealth:
    status: Status
    """``stale`` when an active schedule is more than ``SCHEDULER_MARGIN`` past its
    fire time: nothing is firing schedules."""
    schedules: int
    active: int
    next_due_at: datetime | None
    last_fired_at: datetime | None
    overdue_by: timedelta | None


@dataclass(frozen=True)
class SystemHealth:
    status: Status
    """``down`` when the database is, ``degraded`` when any component is not ``ok``."""
    version: str
    checked_at: datetime
    database: DatabaseHealth
    workers: WorkersHealth | None
    queue: QueueHealth | None
    scheduler: SchedulerHealth | None
    """None when the database is down (nothing could be read); the scheduler also when
    this process has no schedules capability wired (``core.health.scheduler_probe``)."""


def overall(database: DatabaseHealth, parts: tuple[Status, ...]) -> Status:
    if not database.is_reachable:
        return Status.DOWN
    return Status.OK if all(part is Status.OK for part in parts) else Status.DEGRADED


def queue_status(depth: int, oldest_due_age: timedelta | None) -> Status:
    if depth > QUEUE_DEPTH_DEGRADED:
        return Status.DEGRADED
    if oldest_due_age is not None and oldest_due_age > QUEUE_OLDEST_DEGRADED:
        return Status.DEGRADED
    return Status.OK


def scheduler_status(
    next_due_at: datetime | None, now: datetime
) -> tuple[Status, timedelta | None]:
    """The scheduler's status and how long the earliest active schedule is overdue."""
    if next_due_at is None or next_due_at >= now:
        return Status.OK, None
    overdue = now - next_due_at
    return (Status.STALE if overdue > SCHEDULER_MARGIN else Status.OK), overdue


# --- the dashboard's summary ---------------------------------------------------------


@dataclass(frozen=True)
class DayCost:
    day: date
    cost_usd: Decimal


@dataclass(frozen=True)
class HourRate:
    """Ended runs in one UTC hour and the share of them that failed."""

    hour: datetime
    ended: int
    failed: int

    @property
    def failure_rate(self) -> float:
        return self.failed / self.ended if self.ended else 0.0


@dataclass(frozen=True)
class KindQueue:
    kind: str
    depth: int
    oldest_due_age: timedelta | None
    running: int
    dead: int


@dataclass(frozen=True)
class BudgetStatus:
    id: str
    scope: str
    scope_value: str
    period: str
    limit_usd: Decimal
    spent_usd: Decimal
    status: str
    """``ok``, ``warning`` (past ``warn_at`` of the limit) or ``exhausted``."""
    period_ends_at: datetime

    @property
    def used(self) -> float:
        return float(self.spent_usd / self.limit_usd) if self.limit_usd else 0.0


@dataclass(frozen=True)
class MetricsSummary:
    generated_at: datetime
    cost_today_usd: Decimal
    cost_month_usd: Decimal
    cost_by_day: tuple[DayCost, ...]
    """The last 14 UTC days, oldest first, days without calls at 0."""
    pipeline_runs: tuple[HourRate, ...]
    agent_runs: tuple[HourRate, ...]
    """The last 24 UTC hours, oldest first (the current hour last)."""
    queue: tuple[KindQueue, ...]
    alerts_firing: int
    alerts_pending: int
    silences_active: int
    budgets: tuple[BudgetStatus, ...]
