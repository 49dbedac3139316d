"""The durable job queue: one ``jobs`` table for every kind of background work.

Declare a kind with its payload model (``JobKind``, ``JobPayload``), enqueue a typed
payload inside a unit of work (``enqueue``), handle it with a ``JobRegistry`` handler
that receives the parsed payload, run with a ``JobRunner``. See ``runner.py`` for how
claiming, leases, heartbeats, retries and dead-lettering fit together.
"""

from orchestrate.core.jobs.admin import (
    busy_workers,
    cancel_job,
    find_job_by_key,
    get_job,
    list_jobs,
    queue_stats,
    retry_job,
)
from orchestrate.core.jobs.kinds import (
    JobKind,
    JobPayload,
    NewJob,
    NoPayload,
    PayloadInvalid,
    describe_problems,
)
from orchestrate.core.jobs.models import (
    DEFAULT_MAX_ATTEMPTS,
    Job,
    JobFailed,
    JobInfo,
    JobStatus,
    LeaseLost,
    QueueStats,
    RetryPolicy,
    WorkerHeartbeat,
)
from orchestrate.core.jobs.queue import bring_forward, enqueue, enqueue_many
from orchestrate.core.jobs.registry import HandlerSpec, JobContext, JobHandler, JobRegistry
from orchestrate.core.jobs.runner import JobRunner, RunnerConfig, new_worker_id
from orchestrate.core.jobs.workers import (
    STALE_AFTER_BEATS,
    is_stale,
    keep_heartbeat,
    worker_heartbeats,
)

__all__ = [
    "DEFAULT_MAX_ATTEMPTS",
    "STALE_AFTER_BEATS",
    "HandlerSpec",
    "Job",
    "JobContext",
    "JobFailed",
    "JobHandler",
    "JobInfo",
    "JobKind",
    "JobPayload",
    "JobRegistry",
    "JobRunner",
    "JobStatus",
    "LeaseLost",
    "NewJob",
    "NoPayload",
    "PayloadInvalid",
    "QueueStats",
    "RetryPolicy",
    "RunnerConfig",
    "WorkerHeartbeat",
    "bring_forward",
    "busy_workers",
    "cancel_job",
    "describe_problems",
    "enqueue",
    "enqueue_many",
    "find_job_by_key",
    "get_job",
    "is_stale",
    "keep_heartbeat",
    "list_jobs",
    "new_worker_id",
    "queue_stats",
    "retry_job",
    "worker_heartbeats",
]
