"""Prometheus metrics of job execution, updated by the runner in this process."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

JOBS_PROCESSED = Counter(
    "orchestrate_jobs_processed_total",
    "Job attempts finished by this process, by kind and outcome "
    "(succeeded, retried, dead, lease_lost).",
    ["kind", "outcome"],
)
JOB_DURATION = Histogram(
    "orchestrate_job_duration_seconds",
    "Time a job handler ran, by kind.",
    ["kind"],
    buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 1800),
)
JOB_START_DELAY = Histogram(
    "orchestrate_job_start_delay_seconds",
    "Time from a job becoming due to a worker starting it, by kind.",
    ["kind"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60),
)
