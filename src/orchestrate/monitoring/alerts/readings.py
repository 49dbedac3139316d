"""The values of the catalogue's metrics at one evaluation, read in its transaction.

Each distinct (metric, window, ``by``) of the rules is read once per evaluation, however
many rules use it: a thousand rules over a few metrics cost a few queries.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta

from orchestrate.core import jobs
from orchestrate.core.jobs import JobStatus
from orchestrate.core.uow import UnitOfWork
from orchestrate.costs import service as costs
from orchestrate.monitoring.alerts import _store as store
from orchestrate.monitoring.alerts.catalogue import METRICS, Kind, Metric
from orchestrate.monitoring.alerts.evaluation import Series

Reading = tuple[str, timedelta, tuple[str, ...]]
"""What a rule reads: its metric, window and ``by`` labels."""


async def read_all(
    uow: UnitOfWork, wanted: set[Reading], now: datetime
) -> dict[Reading, list[Series]]:
    stats: jobs.QueueStats | None = None
    found: dict[Reading, list[Series]] = {}
    for reading in sorted(wanted):
        name, window, by = reading
        metric = METRICS[name]
        if metric.kind is Kind.COUNT:
            found[reading] = await _counts(uow, metric, now - window, by)
        elif metric.kind is Kind.RATIO:
            found[reading] = await _ratio(uow, metric, now - window, by)
        elif metric.kind is Kind.SUM:
            found[reading] = await _cost(uow, now - window, by)
        elif name == "worker_heartbeat_age_seconds":
            found[reading] = _max_by(await _heartbeats(uow, now), by)
        elif name in ("budget_use_ratio", "budget_warning_ratio"):
            warning = name == "budget_warning_ratio"
            found[reading] = _max_by(await _budgets(uow, now, warning=warning), by)
        else:
            stats = stats or await jobs.queue_stats(uow)
            found[reading] = _queue(name, stats, by)
    return found


def _label(metric: Metric) -> str:
    return metric.labels[0] if metric.labels else ""


async def _tally(
    uow: UnitOfWork, metric: Metric, types: Sequence[str], since: datetime, by: tuple[str, ...]
) -> dict[str, int]:
    """Event counts per label value ('' when not split ``by`` it)."""
    rows = await store.event_counts(uow, types, since, metric.label_field if by else None)
    tally: dict[str, int] = defaultdict(int)
    for _type, value, count in rows:
        tally[(value or "") if by else ""] += count
    return tally


async def _counts(
    uow: UnitOfWork, metric: Metric, since: datetime, by: tuple[str, ...]
) -> list[Series]:
    tally = await _tally(uow, metric, metric.events, since, by)
    if not by:
        return [Series({}, float(tally.get("", 0)))]  # 0 too: "== 0" rules need a value
    return [Series({_label(metric): value}, float(n)) for value, n in sorted(tally.items())]


async def _ratio(
    uow: UnitOfWork, metric: Metric, since: datetime, by: tuple[str, ...]
) -> list[Series]:
    part = await _tally(uow, metric, metric.events, since, by)
    whole = await _tally(uow, metric, metric.of, since, by)
    name = _label(metric)
    return [
        Series({name: value} if by else {}, part.get(value, 0) / total)
        for value, total in sorted(whole.items())
        if total > 0
    ]


async def _cost(uow: UnitOfWork, since: datetime, by: tuple[str, ...]) -> list[Series]:
    if not by:
        lines = await costs.cost_lines_in(uow, costs.CostGrouping.MODEL, since)
        return [Series({}, float(sum(line.cost_usd for line in lines)))]
    grouping = costs.CostGrouping.MODEL if by == ("model",) else costs.CostGrouping.AGENT_TYPE
    lines = await costs.cost_lines_in(uow, grouping, since)
    return [Series({by[0]: line.key or ""}, float(line.cost_usd)) for line in lines]


async def _budgets(uow: UnitOfWork, now: datetime, *, warning: bool) -> list[Series]:
    """Each budget's spending over its limit, or over its warning threshold."""

    def of(budget: costs.Budget) -> int:
        return budget.warn_micros if warning else budget.limit_micros

    return [
        Series(
            {
                "budget": budget.id,
                "scope": budget.scope.value,
                "scope_value": budget.scope_value,
                "period": budget.period.value,
            },
            budget.spent_at(now) / of(budget) if of(budget) else 0.0,
        )
        for budget in await costs.budgets_in(uow)
    ]


async def _heartbeats(uow: UnitOfWork, now: datetime) -> list[Series]:
    return [
        Series(
            {"worker": worker.id, "hostname": worker.hostname},
            worker.age_at(now).total_seconds(),
        )
        for worker in await jobs.worker_heartbeats(uow)
    ]


def _max_by(series: list[Series], by: tuple[str, ...]) -> list[Series]:
    """Gauges without ``by`` give their highest value (any budget near its limit)."""
    if not by:
        return [Series({}, max((s.value for s in series), default=0.0))]
    best: dict[tuple[str, ...], Series] = {}
    for item in series:
        key = tuple(item.labels.get(name, "") for name in by)
        if key not in best or item.value > best[key].value:
            best[key] = Series(dict(zip(by, key, strict=True)), item.value)
    return [best[key] for key in sorted(best)]


def _queue(name: str, stats: jobs.QueueStats, by: tuple[str, ...]) -> list[Series]:
    if name == "job_queue_oldest_age_seconds":
        age = stats.oldest_due_age.total_seconds() if stats.oldest_due_age else 0.0
        return [Series({}, max(age, 0.0))]
    status = JobStatus.DEAD if name == "jobs_dead" else JobStatus.QUEUED
    per_kind: dict[str, int] = defaultdict(int)
    for (kind, found), count in stats.counts.items():
        if found is status:
            per_kind[kind] += count
    if not by:
        return [Series({}, float(sum(per_kind.values())))]
    return [Series({"kind": kind}, float(n)) for kind, n in sorted(per_kind.items())]
