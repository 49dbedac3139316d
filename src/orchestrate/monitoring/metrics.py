"""Prometheus metrics: what this process counts, and what a scrape reads from the database.

Three kinds of series, which aggregate differently across processes (docs/monitoring.md):

* **process-local** — HTTP requests (this module) and the job runner's counters
  (``core.jobs.metrics``) live in this process's default registry. Every ``serve`` and
  every ``worker --metrics-port`` exports its own; sum them across instances.
* **database-held totals** — the business series (``folding.FAMILIES``) folded from the
  event log by the metrics consumer; every ``serve`` renders the same totals, so scrape
  any one (or all, and take ``max()``).
* **scrape-time gauges** — the job queue's depth and oldest age by kind, read from the
  database on each scrape; likewise identical on every ``serve``.

HTTP metrics are labelled by route template (``/api/stories/{story_id}``), never by
raw path, so ids cannot explode the number of series; requests that match no route
share the label ``unmatched``.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping, Sequence
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Histogram, generate_latest
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from orchestrate.core.jobs import JobStatus, QueueStats
from orchestrate.costs.service import UsageTotals
from orchestrate.monitoring.folding import (
    FAMILIES,
    Family,
    FamilyType,
    bucket_label,
    family_of,
    labels_key,
    labels_of,
)
from orchestrate.web.tracing import route_template

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

HTTP_REQUESTS = Counter(
    "orchestrate_http_requests_total",
    "HTTP requests by method, route template and status code.",
    ["method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "orchestrate_http_request_duration_seconds",
    "HTTP request latency by method and route template.",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

QUEUE_JOBS = "orchestrate_job_queue_jobs"
QUEUE_DEPTH = "orchestrate_job_queue_depth"
QUEUE_OLDEST_AGE = "orchestrate_job_queue_oldest_age_seconds"
QUEUE_GAUGES = (QUEUE_JOBS, QUEUE_DEPTH, QUEUE_OLDEST_AGE)


def queue_families(stats: QueueStats) -> list[Metric]:
    """The queue's gauges by kind: jobs by status, depth, the oldest due job's wait."""
    jobs = GaugeMetricFamily(
        QUEUE_JOBS,
        "Jobs in the queue by kind and status (queued, running, dead).",
        labels=["kind", "status"],
    )
    depth = GaugeMetricFamily(
        QUEUE_DEPTH, "Jobs waiting to run (status queued), by kind.", labels=["kind"]
    )
    oldest = GaugeMetricFamily(
        QUEUE_OLDEST_AGE,
        "How long the oldest due job of a kind has been waiting to start; 0 when none is due.",
        labels=["kind"],
    )
    for (kind, status), count in sorted(stats.counts.items()):
        jobs.add_metric([kind, status.value], count)
    for kind in sorted(stats.kinds):  # 0 for a kind with jobs running or dead only
        queued = stats.counts.get((kind, JobStatus.QUEUED), 0)
        depth.add_metric([kind], queued)
        age = stats.oldest_due_age_by_kind.get(kind)
        oldest.add_metric([kind], max(age.total_seconds(), 0.0) if age else 0.0)
    return [jobs, depth, oldest]


def total_families(totals: Mapping[tuple[str, str], float]) -> list[Metric]:
    """The database-held samples as metric families, in catalogue order.

    A histogram's buckets are filled in for every label set it has: a bucket no
    observation reached has no row but is 0.
    """
    by_family: dict[str, dict[str, dict[str, float]]] = {}
    for (sample, labels), value in totals.items():
        family = family_of(sample)
        if family is not None:
            by_family.setdefault(family.name, {}).setdefault(labels, {})[sample] = value
    families = []
    for family in FAMILIES:
        samples = by_family.get(family.name, {})
        metric = Metric(family.name, family.help, family.type.value)
        if family.type is FamilyType.COUNTER:
            for labels, values in sorted(samples.items()):
                for sample, value in values.items():
                    metric.add_sample(sample, labels_of(labels), value)
        else:
            _add_histograms(metric, family, totals, samples)
        families.append(metric)
    return families


def _add_histograms(
    metric: Metric,
    family: Family,
    totals: Mapping[tuple[str, str], float],
    samples: Mapping[str, Mapping[str, float]],
) -> None:
    bucket_sample = f"{family.name}_bucket"
    series = {
        _without_le(labels)
        for labels, values in samples.items()
        if f"{family.name}_count" in values or bucket_sample in values
    }
    for labels in sorted(series):
        plain = labels_of(labels)
        for bound in family.buckets:
            le = {**plain, "le": bucket_label(bound)}
            key = (bucket_sample, labels_key(le))
            metric.add_sample(bucket_sample, le, totals.get(key, 0.0))
        for suffix in ("count", "sum"):
            sample = f"{family.name}_{suffix}"
            metric.add_sample(sample, plain, totals.get((sample, labels), 0.0))


def _without_le(labels: str) -> str:
    plain = labels_of(labels)
    plain.pop("le", None)
    return labels_key(plain)


class _Families(Collector):
    def __init__(self, families: Sequence[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterable[Metric]:
        return self.families


def render_metrics(scraped: Sequence[Metric] = ()) -> tuple[bytes, str]:
    """This process's own series, then ``scraped`` (read for this scrape)."""
    return generate_latest(REGISTRY) + generate_latest(_Families(scraped)), CONTENT_TYPE_LATEST


def exported_names() -> set[str]:
    """Every sample name a ``serve``'s ``/metrics`` can export (and a worker's, a subset):
    the process registry's, the database-held catalogue's and the queue gauges'."""
    names = set(QUEUE_GAUGES)
    for metric in REGISTRY.collect():
        names |= _sample_names(metric.name, metric.type)
    for family in FAMILIES:
        names |= _sample_names(family.name, family.type.value)
    for ledger in llm_families([]):
        names |= _sample_names(ledger.name, ledger.type)
    return names


def _sample_names(name: str, kind: str) -> set[str]:
    if kind == "counter":
        return {f"{name}_total", f"{name}_created"}
    if kind == "histogram":
        return {f"{name}_{suffix}" for suffix in ("bucket", "sum", "count", "created")}
    if kind == "summary":
        return {name, f"{name}_sum", f"{name}_count", f"{name}_created"}
    return {name}


class HttpMetricsMiddleware:
    """Pure ASGI middleware (no response buffering) counting and timing requests."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status_holder = {"status": 500}

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = route_template(scope)
            method = scope.get("method", "GET")
            HTTP_REQUESTS.labels(method, route, str(status_holder["status"])).inc()
            HTTP_LATENCY.labels(method, route).observe(time.perf_counter() - started)


LLM_TOKENS = "orchestrate_llm_tokens"
LLM_COST = "orchestrate_llm_cost_usd"


def llm_families(totals: Sequence[UsageTotals]) -> list[Metric]:
    """The cost ledger's sums as counters: tokens by kind, dollars, per model and agent
    type. (Entries older than ``retention_costs`` are pruned, and with them their share
    of the totals: Prometheus reads the drop as a counter reset.)"""
    tokens = CounterMetricFamily(
        LLM_TOKENS,
        "Tokens of model calls by kind (input, output, cache_read, cache_write), model and "
        "agent type.",
        labels=["kind", "model", "agent_type"],
    )
    cost = CounterMetricFamily(
        LLM_COST,
        "Dollars spent on model calls by model and agent type.",
        labels=["model", "agent_type"],
    )
    for usage in sorted(totals, key=lambda t: (t.model, t.agent_type)):
        labels, line = [usage.model, usage.agent_type], usage.totals
        tokens.add_metric(["input", *labels], line.input_tokens)
        tokens.add_metric(["output", *labels], line.output_tokens)
        tokens.add_metric(["cache_read", *labels], line.cache_read_tokens)
        tokens.add_metric(["cache_write", *labels], line.cache_write_tokens)
        cost.add_metric(labels, float(line.cost_usd))
    return [tokens, cost]
