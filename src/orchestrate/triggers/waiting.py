"""Waiting for a queued delivery to be processed, by whichever process takes its job.

``webhook replay`` and ``webhook redeliver --wait`` queue a processing job and report
what it did. The CLI needs no server, so it runs a job runner limited to that one job;
but a running ``serve`` or ``orchestrate worker`` may claim the job first (the queue's
lease keeps it to one of them). Returning when the local runner found nothing to do
reported a delivery still ``received`` most of the time; instead the wait ends when
the delivery's status, read from the database, says one attempt is over.
"""

from __future__ import annotations

import asyncio
import contextlib

from orchestrate.core.jobs import JobInfo, JobRegistry, JobRunner, JobStatus, get_job
from orchestrate.core.runtime import Runtime
from orchestrate.triggers import _store as store
from orchestrate.triggers import deliveries
from orchestrate.triggers.models import DeliveryStatus, QueuedDelivery, WebhookDelivery
from orchestrate.triggers.processing import register_trigger_jobs

POLL_SECONDS = 0.2


async def wait_for_processing(
    runtime: Runtime, queued: QueuedDelivery, *, poll_seconds: float = POLL_SECONDS
) -> WebhookDelivery:
    """Process the queued delivery here unless another process does; its state after.

    Returns once the delivery is ``processed`` or ``failed``, or once an attempt failed
    and the queue scheduled a retry (the delivery is then ``processing`` with the
    attempt's error); whichever process ran it.
    """
    registry = JobRegistry()
    register_trigger_jobs(registry, runtime)
    stop = asyncio.Event()
    runner = asyncio.create_task(
        JobRunner(runtime, registry, only_jobs=[queued.job_id]).run(stop),
        name="webhook-wait-runner",
    )
    try:
        while True:
            delivery, job = await _read(runtime, queued)
            if _attempt_is_over(delivery, job):
                return delivery
            if runner.done():
                await runner  # it only ends early when it failed: raise that
            await asyncio.sleep(poll_seconds)
    finally:
        stop.set()  # a job in flight here finishes; on Ctrl+C it is handed back
        with contextlib.suppress(asyncio.CancelledError):
            await runner


async def _read(runtime: Runtime, queued: QueuedDelivery) -> tuple[WebhookDelivery, JobInfo]:
    async with runtime.uow(read_only=True) as uow:
        # The job first: a job that ended committed the delivery's new status with it, so
        # the delivery read after it shows that status. Read the other way round (each
        # statement sees the latest commit under READ COMMITTED), a delivery still
        # "processing" could be paired with a job that has just succeeded.
        job = await get_job(uow, queued.job_id)
        row = await store.delivery_row(uow, queued.delivery.id)
        return deliveries.to_delivery(row), job


def _attempt_is_over(delivery: WebhookDelivery, job: JobInfo) -> bool:
    if delivery.status in (DeliveryStatus.PROCESSED, DeliveryStatus.FAILED):
        return True
    if job.status in (JobStatus.SUCCEEDED, JobStatus.DEAD, JobStatus.CANCELLED):
        return True  # e.g. the job found the delivery already processed by a batch
    # Back in the queue after an attempt: it failed, and a retry waits for its backoff.
    return job.status is JobStatus.QUEUED and job.attempts > 0
