"""The monitoring service checks roles itself, whichever entry point calls it."""

from __future__ import annotations

import pytest

from orchestrate.auth.models import Actor, Role
from orchestrate.core.errors import PermissionDenied
from orchestrate.core.jobs import JobStatus
from orchestrate.core.runtime import Runtime
from orchestrate.monitoring import service
from tests.integration.monitoring.jobs import dead_job, queued_job

VIEWER = Actor(name="test:vera", role=Role.VIEWER, source="198.51.100.9")


async def test_a_viewer_cannot_retry_a_job_through_the_service(runtime: Runtime) -> None:
    job_id = await dead_job(runtime)

    with pytest.raises(PermissionDenied):
        await service.retry_job(runtime.uow(), job_id, VIEWER)

    assert (await service.get_job(runtime.uow(read_only=True), job_id)).status is JobStatus.DEAD


async def test_a_viewer_cannot_cancel_a_job_through_the_service(runtime: Runtime) -> None:
    job_id = await queued_job(runtime)

    with pytest.raises(PermissionDenied):
        await service.cancel_job(runtime.uow(), job_id, VIEWER)

    job = await service.get_job(runtime.uow(read_only=True), job_id)
    assert job.status is JobStatus.QUEUED


async def test_queue_statistics_count_waiting_and_dead_jobs(runtime: Runtime) -> None:
    await queued_job(runtime, "test.a")
    await queued_job(runtime, "test.a")
    await dead_job(runtime, "test.b")

    stats = await service.queue_statistics(runtime.uow(read_only=True))

    assert stats.depth == 2
    assert stats.counts[("test.a", JobStatus.QUEUED)] == 2
    assert stats.counts[("test.b", JobStatus.DEAD)] == 1
    assert stats.oldest_due_age is not None


async def test_health_reports_a_reachable_database(runtime: Runtime, engine_name: str) -> None:
    health = await service.check_health(runtime.uow(read_only=True), runtime.settings)

    assert (health.status, health.database, health.database_reachable) == ("ok", engine_name, True)
