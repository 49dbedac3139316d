"""Use cases of operating Orchestrate: health, metrics, queue statistics, steering jobs.

The platform's health by component is ``health.py``; the dashboard's summary
(cost, failure rates, queue, alerts, budgets) is ``summary.py``; both are public here."""

from __future__ import annotations

import errno
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import structlog
from prometheus_client import start_http_server
from prometheus_client.metrics_core import Metric

from orchestrate import __version__
from orchestrate.auth import service as auth
from orchestrate.core import jobs
from orchestrate.core.errors import ConfigurationError, ValidationFailed
from orchestrate.core.events import Consumer, Event
from orchestrate.core.jobs import JobInfo, JobStatus, QueueStats
from orchestrate.core.pagination import Page
from orchestrate.core.runtime import Runtime
from orchestrate.core.sandbox import SandboxPolicy, sandbox_warning
from orchestrate.core.settings import Settings
from orchestrate.core.uow import UnitOfWork
from orchestrate.costs import service as costs
from orchestrate.monitoring import _store as store
from orchestrate.monitoring.alerts import service as alerts
from orchestrate.monitoring.alerts.models import Alert, Silence, parse_duration
from orchestrate.monitoring.folding import EVENT_TYPES, fold
from orchestrate.monitoring.health import check_system_health
from orchestrate.monitoring.metrics import (
    llm_families,
    queue_families,
    render_metrics,
    total_families,
)
from orchestrate.monitoring.models import HourRate, MetricsSummary, Status, SystemHealth
from orchestrate.monitoring.summary import LiveAlerts, live_alerts, metrics_summary

__all__ = [
    "METRICS_CONSUMER",
    "SCRAPE_COLLECTORS",
    "Alert",
    "Health",
    "HourRate",
    "LiveAlerts",
    "MetricsSummary",
    "ScrapeCollector",
    "Silence",
    "Status",
    "SystemHealth",
    "acknowledge_alert",
    "busy_workers",
    "cancel_job",
    "check_health",
    "check_system_health",
    "end_silence",
    "event_metrics",
    "fold_into_totals",
    "get_job",
    "list_jobs",
    "live_alerts",
    "llm_usage_metrics",
    "metrics_consumer",
    "metrics_summary",
    "queue_metrics",
    "queue_statistics",
    "retry_job",
    "scrape",
    "serve_process_metrics",
    "silence_alerts",
    "worker_heartbeats",
]

log = structlog.get_logger(__name__)

METRICS_CONSUMER = "monitoring.metrics"
ScrapeCollector = Callable[[UnitOfWork], Awaitable[list[Metric]]]
"""Reads series from the database for one scrape of ``/metrics`` (given a read-only
unit of work it has not entered yet)."""


@dataclass(frozen=True)
class Health:
    status: str
    version: str
    database: str
    database_reachable: bool
    database_error: str | None = None
    sandbox: str = "bubblewrap"
    warnings: tuple[str, ...] = ()


async def check_health(uow: UnitOfWork, settings: Settings) -> Health:
    """Whether this process can reach its database; never raises.

    An unconfined sandbox is reported as a warning: the server works, but agents and
    steps run with the server's own rights.
    """
    dialect = uow.database.dialect
    policy = SandboxPolicy.from_settings(settings)
    warning = sandbox_warning(policy)
    warnings = (warning,) if warning else ()
    sandbox = policy.mode.value
    try:
        async with uow:
            await store.ping(uow)
    except Exception as error:
        error_name = type(error).__name__
        return Health("degraded", __version__, dialect, False, error_name, sandbox, warnings)
    return Health("ok", __version__, dialect, True, None, sandbox, warnings)


async def queue_statistics(uow: UnitOfWork) -> QueueStats:
    async with uow:
        return await jobs.queue_stats(uow)


async def busy_workers(uow: UnitOfWork) -> dict[str, int]:
    """Workers running jobs now (by lease), and how many each runs."""
    async with uow:
        return await jobs.busy_workers(uow)


async def worker_heartbeats(uow: UnitOfWork) -> list[jobs.WorkerHeartbeat]:
    """Every registered worker with its last heartbeat (``core.jobs.workers``); alert
    rules read ``core.jobs.worker_heartbeats`` in their own transaction instead."""
    async with uow:
        return await jobs.worker_heartbeats(uow)


async def list_jobs(
    uow: UnitOfWork,
    *,
    status: JobStatus | None = None,
    kind: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[JobInfo]:
    async with uow:
        return await jobs.list_jobs(uow, status=status, kind=kind, limit=limit, cursor=cursor)


async def get_job(uow: UnitOfWork, job_id: str) -> JobInfo:
    async with uow:
        return await jobs.get_job(uow, job_id)


async def retry_job(uow: UnitOfWork, job_id: str, actor: auth.Actor) -> JobInfo:
    """Give a dead-lettered (or cancelled) job a fresh set of attempts."""
    auth.authorize(actor, auth.Permission.WRITE)
    async with uow:
        info = await jobs.retry_job(uow, job_id)
        await auth.record_audit(uow, actor, "job.retry", job_id, {"kind": info.kind})
        await uow.commit()
        return info


async def cancel_job(uow: UnitOfWork, job_id: str, actor: auth.Actor) -> JobInfo:
    """Cancel a job that has not started yet."""
    auth.authorize(actor, auth.Permission.WRITE)
    async with uow:
        info = await jobs.cancel_job(uow, job_id)
        await auth.record_audit(uow, actor, "job.cancel", job_id, {"kind": info.kind})
        await uow.commit()
        return info


async def acknowledge_alert(uow: UnitOfWork, alert_id: str, actor: auth.Actor) -> Alert:
    """The alert engine's acknowledgement (``alerts.service.acknowledge``), for the dashboard."""
    return await alerts.acknowledge(uow, alert_id, actor)


async def silence_alerts(
    uow: UnitOfWork, matchers: Sequence[str], duration: str, actor: auth.Actor, comment: str = ""
) -> Silence:
    """A silence from what a person typed: matchers, and a duration such as ``2h``."""
    try:
        length = parse_duration(duration.strip())
    except ValueError as error:
        raise ValidationFailed(str(error), field="duration") from None
    return await alerts.create_silence(uow, matchers, length, actor, comment=comment)


async def end_silence(uow: UnitOfWork, silence_id: str, actor: auth.Actor) -> Silence:
    """End a silence now (``alerts.service.expire_silence``)."""
    return await alerts.expire_silence(uow, silence_id, actor)


async def fold_into_totals(uow: UnitOfWork, events: Sequence[Event]) -> None:
    """Add what ``events`` count to the stored metric totals: one upserted row per sample
    per batch, in the open transaction that also moves the consumer's cursor past them.

    At-least-once delivery cannot count twice here: the totals and the cursor commit
    together (``Consumer(batch=...)``), and the cursor only moves if it is still where
    this batch was read from, under this worker's lease. A worker that dies before the
    commit leaves both untouched; the next one folds the same batch once. (Storing a
    "last folded event id" beside the totals would not do on PostgreSQL, whose log
    order is by writing transaction, not by id.)
    """
    await store.add_increments(uow, fold(events).by_sample)


def metrics_consumer(runtime: Runtime) -> Consumer:
    """The durable consumer keeping the business metrics' totals (``folding.py``)."""
    del runtime  # the batch handler gets its unit of work from the consumer loop
    return Consumer(METRICS_CONSUMER, batch=fold_into_totals, types=EVENT_TYPES, batch_size=500)


async def queue_metrics(uow: UnitOfWork) -> list[Metric]:
    """The job queue's gauges by kind, as of now (the same on every process)."""
    return queue_families(await queue_statistics(uow))


async def event_metrics(uow: UnitOfWork) -> list[Metric]:
    """The business series folded from the event log (the same on every process)."""
    async with uow:
        return total_families(await store.metric_totals(uow))


async def llm_usage_metrics(uow: UnitOfWork) -> list[Metric]:
    """Tokens by kind and cost by model and agent type, summed over the cost ledger
    (``orchestrate.costs``, one entry per model call) at scrape time:
    ``orchestrate_llm_tokens_total{kind,model,agent_type}`` and
    ``orchestrate_llm_cost_usd_total{model,agent_type}``. The same on every process."""
    async with uow:
        return llm_families(await costs.usage_totals_in(uow))


SCRAPE_COLLECTORS: tuple[ScrapeCollector, ...] = (
    queue_metrics,
    event_metrics,
    llm_usage_metrics,
)
"""What every scrape of ``serve``'s ``/metrics`` reads from the database, in order; a
new database-backed series is one more function here."""


async def scrape(runtime: Runtime) -> tuple[bytes, str]:
    """The exposition of ``/metrics``: this process's series, then the database's.

    A collector that fails (the database is down) is left out and logged: the scrape
    still answers with everything else.
    """
    families: list[Metric] = []
    for collect in SCRAPE_COLLECTORS:
        try:
            families += await collect(runtime.uow(read_only=True))
        except Exception as error:
            log.warning("metrics_unavailable", source=collect.__name__, error=type(error).__name__)
    return render_metrics(families)


class ProcessMetricsServer:
    """``/metrics`` of this process only, on its own port (``orchestrate worker``)."""

    def __init__(self, host: str, port: int) -> None:
        try:
            self._server, self._thread = start_http_server(port, addr=host)
        except OSError as error:
            reason = "is already in use" if error.errno == errno.EADDRINUSE else str(error)
            raise ConfigurationError(
                f"the metrics port {port} on {host} {reason}; choose another with "
                "--metrics-port or ORCHESTRATE_WORKER_METRICS_PORT"
            ) from error
        log.info("worker_metrics_listening", host=host, port=port)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def serve_process_metrics(host: str, port: int) -> ProcessMetricsServer:
    """Serve this process's own series (the job runner's counters, Python's) on
    ``host:port``: how every worker's work is scraped; sum them across workers."""
    return ProcessMetricsServer(host, port)
