"""The dashboard's summary: cost, failure rates, the queue by kind, alerts and budgets.

``GET /api/monitoring/metrics`` and the Monitoring page read it through
``monitoring.service``. Costs, event counts, the queue and budgets come from one
read-only transaction (a handful of GROUP BY queries, none per row); alerts and
silences through the alert engine's service.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

from orchestrate.core import jobs
from orchestrate.core.jobs import JobStatus, QueueStats
from orchestrate.core.pagination import MAX_PAGE_SIZE
from orchestrate.core.runtime import Runtime
from orchestrate.costs import service as costs
from orchestrate.monitoring import _store as store
from orchestrate.monitoring.alerts import service as alerts
from orchestrate.monitoring.alerts.models import Alert, AlertState, Silence
from orchestrate.monitoring.models import (
    BudgetStatus,
    DayCost,
    HourRate,
    KindQueue,
    MetricsSummary,
)

COST_DAYS = 14
RATE_HOURS = 24
PIPELINE_ENDS = ("pipeline.run.success", "pipeline.run.failure", "pipeline.run.cancelled")
PIPELINE_FAILED = "pipeline.run.failure"
AGENT_ENDS = ("agent.completed", "agent.failed", "agent.cancelled")
AGENT_FAILED = "agent.failed"


@dataclass(frozen=True)
class LiveAlerts:
    """The alerts firing and pending now (at most ``MAX_PAGE_SIZE`` of each, newest
    first) and the silences not yet over."""

    firing: tuple[Alert, ...]
    pending: tuple[Alert, ...]
    silences: tuple[Silence, ...]


async def live_alerts(runtime: Runtime) -> LiveAlerts:
    firing = await alerts.list_alerts(
        runtime.uow(read_only=True, urgent=True), state=AlertState.FIRING, limit=MAX_PAGE_SIZE
    )
    pending = await alerts.list_alerts(
        runtime.uow(read_only=True, urgent=True),
        state=AlertState.PENDING,
        limit=MAX_PAGE_SIZE,
    )
    silences = await alerts.list_silences(runtime.uow(read_only=True, urgent=True))
    return LiveAlerts(tuple(firing.items), tuple(pending.items), tuple(silences))


async def metrics_summary(runtime: Runtime, live: LiveAlerts | None = None) -> MetricsSummary:
    """The summary as of now; ``live`` when the caller has read the alerts already."""
    live = live or await live_alerts(runtime)
    async with runtime.uow(read_only=True, urgent=True) as uow:
        now = uow.now()
        today = now.astimezone(UTC).date()
        first_day = min(today - timedelta(days=COST_DAYS - 1), today.replace(day=1))
        since = datetime.combine(first_day, time(), tzinfo=UTC)
        day_lines = await costs.cost_lines_in(uow, costs.CostGrouping.DAY, since)
        this_hour = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        first_hour = this_hour - timedelta(hours=RATE_HOURS - 1)
        counts = await store.event_counts_by_hour(uow, (*PIPELINE_ENDS, *AGENT_ENDS), first_hour)
        stats = await jobs.queue_stats(uow)
        budgets = await costs.budgets_in(uow)
    by_day = {line.key or "": line.cost_usd for line in day_lines}
    days = [today - timedelta(days=n) for n in range(COST_DAYS - 1, -1, -1)]
    hours = [first_hour + timedelta(hours=n) for n in range(RATE_HOURS)]
    return MetricsSummary(
        generated_at=now,
        cost_today_usd=by_day.get(today.isoformat(), Decimal(0)),
        cost_month_usd=sum(
            (cost for day, cost in by_day.items() if day >= today.replace(day=1).isoformat()),
            Decimal(0),
        ),
        cost_by_day=tuple(DayCost(day, by_day.get(day.isoformat(), Decimal(0))) for day in days),
        pipeline_runs=_rates(counts, hours, PIPELINE_ENDS, PIPELINE_FAILED),
        agent_runs=_rates(counts, hours, AGENT_ENDS, AGENT_FAILED),
        queue=queue_by_kind(stats),
        alerts_firing=len(live.firing),
        alerts_pending=len(live.pending),
        silences_active=sum(1 for silence in live.silences if silence.active_at(now)),
        budgets=tuple(budget_status(budget, now) for budget in budgets),
    )


def _rates(
    counts: list[tuple[str, datetime, int]],
    hours: list[datetime],
    ends: tuple[str, ...],
    failed: str,
) -> tuple[HourRate, ...]:
    ended: dict[datetime, int] = defaultdict(int)
    failures: dict[datetime, int] = defaultdict(int)
    for event_type, hour, count in counts:
        if event_type in ends:
            ended[hour] += count
        if event_type == failed:
            failures[hour] += count
    return tuple(HourRate(hour, ended[hour], failures[hour]) for hour in hours)


def queue_by_kind(stats: QueueStats) -> tuple[KindQueue, ...]:
    """Waiting, running and dead jobs of each kind that has any, by kind name."""
    per_kind: dict[str, dict[JobStatus, int]] = defaultdict(lambda: defaultdict(int))
    for (kind, status), count in stats.counts.items():
        per_kind[kind][status] += count
    return tuple(
        KindQueue(
            kind,
            found[JobStatus.QUEUED],
            stats.oldest_due_age_by_kind.get(kind),
            found[JobStatus.RUNNING],
            found[JobStatus.DEAD],
        )
        for kind, found in sorted(per_kind.items())
    )


def budget_status(budget: costs.Budget, now: datetime) -> BudgetStatus:
    spent = budget.spent_at(now)
    status = budget.status_at(now)
    start = budget.period.start_of(now)
    return BudgetStatus(
        id=budget.id,
        scope=budget.scope.value,
        scope_value=budget.scope_value,
        period=budget.period.value,
        limit_usd=budget.limit_usd,
        spent_usd=Decimal(spent) / Decimal(1_000_000),
        status=status,
        period_ends_at=budget.period.end_of(start),
    )
