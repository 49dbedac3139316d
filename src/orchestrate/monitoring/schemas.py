"""Response models of the monitoring API."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field

from orchestrate.core.jobs import JobInfo, JobStatus
from orchestrate.monitoring.models import (
    QUEUE_DEPTH_DEGRADED,
    QUEUE_OLDEST_DEGRADED,
    SCHEDULER_MARGIN,
    HourRate,
    MetricsSummary,
    QueueHealth,
    SchedulerHealth,
    Status,
    SystemHealth,
    WorkersHealth,
)
from orchestrate.monitoring.service import Health


class HealthOut(BaseModel):
    status: str
    version: str
    database: str
    database_reachable: bool
    sandbox: str = Field(description="bubblewrap, or none when agents and steps run unconfined.")
    warnings: list[str] = Field(
        default_factory=list, description="Configuration an operator should know about."
    )

    @classmethod
    def of(cls, health: Health) -> HealthOut:
        return cls(
            status=health.status,
            version=health.version,
            database=health.database,
            database_reachable=health.database_reachable,
            sandbox=health.sandbox,
            warnings=list(health.warnings),
        )


class JobOut(BaseModel):
    id: str
    kind: str
    status: JobStatus
    payload: Any
    """The stored JSON, as written (an object unless someone edited the row)."""
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

    @classmethod
    def of(cls, info: JobInfo) -> JobOut:
        return cls(
            id=info.id,
            kind=info.kind,
            status=info.status,
            payload=info.payload,
            priority=info.priority,
            attempts=info.attempts,
            max_attempts=info.max_attempts,
            run_at=info.run_at,
            lease_owner=info.lease_owner,
            lease_expires_at=info.lease_expires_at,
            idempotency_key=info.idempotency_key,
            last_error=info.last_error,
            result=info.result,
            created_at=info.created_at,
            updated_at=info.updated_at,
            started_at=info.started_at,
            finished_at=info.finished_at,
        )


class DatabaseHealthOut(BaseModel):
    status: Status
    reachable: bool
    dialect: str = Field(description="sqlite or postgresql.")
    latency_ms: float | None = Field(description="One round trip (SELECT 1), in milliseconds.")
    error: str | None = Field(description="The error's type when it cannot be reached.")


class WorkerHealthOut(BaseModel):
    id: str = Field(description="The worker id: the lease owner of the jobs it runs.")
    hostname: str
    pid: int
    version: str
    started_at: datetime
    last_heartbeat_at: datetime
    heartbeat_age_seconds: float
    running_jobs: int
    status: Status = Field(description="ok, or stale after three heartbeat intervals without one.")


class WorkersHealthOut(BaseModel):
    status: Status = Field(description="degraded when no worker is alive.")
    alive: int
    heartbeat_interval_seconds: float
    workers: list[WorkerHealthOut]


class QueueHealthOut(BaseModel):
    status: Status = Field(
        description=f"degraded above {QUEUE_DEPTH_DEGRADED} waiting jobs or when the oldest "
        f"due job has waited over {int(QUEUE_OLDEST_DEGRADED.total_seconds())} s."
    )
    depth: int = Field(description="Jobs waiting to run, due or not.")
    oldest_due_age_seconds: float | None
    running: int
    dead: int


class SchedulerHealthOut(BaseModel):
    status: Status = Field(
        description=f"stale when an active schedule is over "
        f"{int(SCHEDULER_MARGIN.total_seconds())} s past its fire time."
    )
    schedules: int
    active: int
    next_due_at: datetime | None
    last_fired_at: datetime | None
    overdue_seconds: float | None


class SystemHealthOut(BaseModel):
    status: Status = Field(description="ok, degraded, or down when the database is.")
    version: str
    checked_at: datetime
    database: DatabaseHealthOut
    workers: WorkersHealthOut | None
    queue: QueueHealthOut | None
    scheduler: SchedulerHealthOut | None

    @classmethod
    def of(cls, health: SystemHealth) -> SystemHealthOut:
        db = health.database
        return cls(
            status=health.status,
            version=health.version,
            checked_at=health.checked_at,
            database=DatabaseHealthOut(
                status=db.status,
                reachable=db.is_reachable,
                dialect=db.dialect,
                latency_ms=db.latency_ms,
                error=db.error,
            ),
            workers=None if health.workers is None else _workers_out(health.workers),
            queue=None if health.queue is None else _queue_out(health.queue),
            scheduler=None if health.scheduler is None else _scheduler_out(health.scheduler),
        )


def _seconds(value: timedelta | None) -> float | None:
    return None if value is None else round(value.total_seconds(), 3)


def _workers_out(workers: WorkersHealth) -> WorkersHealthOut:
    return WorkersHealthOut(
        status=workers.status,
        alive=workers.alive,
        heartbeat_interval_seconds=workers.heartbeat_interval.total_seconds(),
        workers=[
            WorkerHealthOut(
                id=worker.id,
                hostname=worker.hostname,
                pid=worker.pid,
                version=worker.version,
                started_at=worker.started_at,
                last_heartbeat_at=worker.last_heartbeat_at,
                heartbeat_age_seconds=round(worker.heartbeat_age.total_seconds(), 3),
                running_jobs=worker.running_jobs,
                status=worker.status,
            )
            for worker in workers.workers
        ],
    )


def _queue_out(queue: QueueHealth) -> QueueHealthOut:
    return QueueHealthOut(
        status=queue.status,
        depth=queue.depth,
        oldest_due_age_seconds=_seconds(queue.oldest_due_age),
        running=queue.running,
        dead=queue.dead,
    )


def _scheduler_out(scheduler: SchedulerHealth) -> SchedulerHealthOut:
    return SchedulerHealthOut(
        status=scheduler.status,
        schedules=scheduler.schedules,
        active=scheduler.active,
        next_due_at=scheduler.next_due_at,
        last_fired_at=scheduler.last_fired_at,
        overdue_seconds=_seconds(scheduler.overdue_by),
    )


class DayCostOut(BaseModel):
    day: date
    cost_usd: Decimal


class HourRateOut(BaseModel):
    hour: datetime = Field(description="The start of the UTC hour.")
    ended: int
    failed: int
    failure_rate: float = Field(description="failed / ended; 0 when none ended.")


class KindQueueOut(BaseModel):
    kind: str
    depth: int
    oldest_due_age_seconds: float | None
    running: int
    dead: int


class BudgetStatusOut(BaseModel):
    id: str
    scope: str
    scope_value: str
    period: str
    limit_usd: Decimal
    spent_usd: Decimal
    status: str = Field(description="ok, warning or exhausted.")
    period_ends_at: datetime


class AlertCountsOut(BaseModel):
    firing: int
    pending: int
    silences_active: int


class MetricsSummaryOut(BaseModel):
    generated_at: datetime
    cost_today_usd: Decimal
    cost_month_usd: Decimal
    cost_by_day: list[DayCostOut] = Field(description="The last 14 UTC days, oldest first.")
    pipeline_runs: list[HourRateOut] = Field(description="The last 24 UTC hours, oldest first.")
    agent_runs: list[HourRateOut] = Field(description="The last 24 UTC hours, oldest first.")
    queue: list[KindQueueOut]
    alerts: AlertCountsOut
    budgets: list[BudgetStatusOut]

    @classmethod
    def of(cls, summary: MetricsSummary) -> MetricsSummaryOut:
        return cls(
            generated_at=summary.generated_at,
            cost_today_usd=summary.cost_today_usd,
            cost_month_usd=summary.cost_month_usd,
            cost_by_day=[DayCostOut(day=d.day, cost_usd=d.cost_usd) for d in summary.cost_by_day],
            pipeline_runs=[_rate_out(rate) for rate in summary.pipeline_runs],
            agent_runs=[_rate_out(rate) for rate in summary.agent_runs],
            queue=[
                KindQueueOut(
                    kind=q.kind,
                    depth=q.depth,
                    oldest_due_age_seconds=_seconds(q.oldest_due_age),
                    running=q.running,
                    dead=q.dead,
                )
                for q in summary.queue
            ],
            alerts=AlertCountsOut(
                firing=summary.alerts_firing,
                pending=summary.alerts_pending,
                silences_active=summary.silences_active,
            ),
            budgets=[
                BudgetStatusOut(
                    id=b.id,
                    scope=b.scope,
                    scope_value=b.scope_value,
                    period=b.period,
                    limit_usd=b.limit_usd,
                    spent_usd=b.spent_usd,
                    status=b.status,
                    period_ends_at=b.period_ends_at,
                )
                for b in summary.budgets
            ],
        )


def _rate_out(rate: HourRate) -> HourRateOut:
    return HourRateOut(
        hour=rate.hour, ended=rate.ended, failed=rate.failed, failure_rate=rate.failure_rate
    )
