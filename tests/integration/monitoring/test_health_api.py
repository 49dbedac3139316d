"""GET /api/monitoring/health: database, workers, queue and scheduler, each with a status;
both databases, with a clock the test moves."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from orchestrate.auth.models import Role
from orchestrate.auth.service import Actor
from orchestrate.core.clock import FrozenClock
from orchestrate.core.db import create_database
from orchestrate.core.jobs import JobRegistry, JobRunner, WorkerHeartbeat
from orchestrate.core.jobs.workers import record_heartbeat
from orchestrate.core.runtime import Runtime
from orchestrate.core.settings import Settings
from orchestrate.monitoring import service
from orchestrate.pipelines import service as pipelines
from orchestrate.schedules import service as schedules
from tests.conftest import app_on
from tests.integration.monitoring.jobs import queued_job
from tests.support import bearer, issue_token

START = datetime(2026, 12, 7, 9, 0, 30, tzinfo=UTC)
PIPELINE = "name: nightly\nsteps:\n  - id: greet\n    run: echo hello\n"


@pytest.fixture
async def rt(frozen_runtime: Runtime, clock: FrozenClock) -> Runtime:
    clock.set(START)
    return frozen_runtime


@pytest.fixture
async def client(rt: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app_on(rt), client=("203.0.113.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://orchestrate.test") as c:
        yield c


@pytest.fixture
async def viewer(rt: Runtime) -> dict[str, str]:
    return bearer(await issue_token(rt, "health-viewer", Role.VIEWER))


async def health(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    response = await client.get("/api/monitoring/health", headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def heartbeat(rt: Runtime, worker_id: str, age: timedelta) -> None:
    async with rt.uow() as uow:
        at = uow.now() - age
        await record_heartbeat(uow, WorkerHeartbeat(worker_id, "host-a", 7, "0.1.0", at, at, 2))
        await uow.commit()


async def test_health_by_component_needs_a_token(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/monitoring/health")

    assert response.status_code == 401


async def test_without_a_live_worker_the_platform_is_degraded(
    client: httpx.AsyncClient, viewer: dict[str, str], engine_name: str
) -> None:
    body = await health(client, viewer)

    assert body["status"] == "degraded"
    assert body["database"]["status"] == "ok"
    assert body["database"]["reachable"] is True
    assert body["database"]["dialect"] == engine_name
    assert body["database"]["latency_ms"] >= 0
    assert body["workers"] == {
        "status": "degraded",
        "alive": 0,
        "heartbeat_interval_seconds": 5.0,
        "workers": [],
    }
    assert body["queue"]["status"] == "ok"
    assert body["scheduler"]["status"] == "ok"


async def test_a_live_worker_is_ok_and_a_silent_one_is_stale(
    rt: Runtime, client: httpx.AsyncClient, viewer: dict[str, str]
) -> None:
    await heartbeat(rt, "alive", timedelta(seconds=2))
    await heartbeat(rt, "silent", timedelta(seconds=60))

    body = await health(client, viewer)

    assert body["status"] == "ok"
    workers = {w["id"]: w for w in body["workers"]["workers"]}
    assert workers["alive"]["status"] == "ok"
    assert workers["alive"]["heartbeat_age_seconds"] == 2.0
    assert workers["alive"]["running_jobs"] == 2
    assert workers["silent"]["status"] == "stale"
    assert workers["silent"]["heartbeat_age_seconds"] == 60.0
    assert body["workers"]["status"] == "ok"
    assert body["workers"]["alive"] == 1


async def test_only_stale_workers_leave_the_platform_degraded(
    rt: Runtime, client: httpx.AsyncClient, viewer: dict[str, str]
) -> None:
    await heartbeat(rt, "silent", timedelta(seconds=16))

    body = await health(client, viewer)

    assert body["workers"]["status"] == "degraded"
    assert body["status"] == "degraded"


async def test_a_queue_whose_oldest_due_job_waited_too_long_is_degraded(
    rt: Runtime, clock: FrozenClock, client: httpx.AsyncClient, viewer: dict[str, str]
) -> None:
    await heartbeat(rt, "alive", timedelta(0))
    await queued_job(rt)
    clock.advance(timedelta(minutes=6))
    await heartbeat(rt, "alive", timedelta(0))

    body = await health(client, viewer)

    assert body["queue"]["status"] == "degraded"
    assert body["queue"]["depth"] == 1
    assert body["queue"]["oldest_due_age_seconds"] == 360.0
    assert body["status"] == "degraded"


async def test_a_schedule_not_fired_past_its_time_makes_the_scheduler_stale_until_it_fires(
    rt: Runtime,
    clock: FrozenClock,
    client: httpx.AsyncClient,
    viewer: dict[str, str],
    admin: Actor,
) -> None:
    await pipelines.register_pipeline(rt.uow(), pipelines.PipelineSource(PIPELINE), admin)
    request = schedules.NewSchedule(name="each-minute", cron="* * * * *", pipeline="nightly")
    await schedules.create_schedule(rt.uow(), rt.settings, request, admin)
    clock.advance(timedelta(minutes=3))

    stale = (await health(client, viewer))["scheduler"]

    assert stale["status"] == "stale"
    assert stale["schedules"] == stale["active"] == 1
    assert stale["overdue_seconds"] == 150.0  # due at 09:01, now 09:03:30
    assert stale["last_fired_at"] is None

    registry = JobRegistry()
    schedules.register_schedule_jobs(registry, rt)
    await schedules.start_schedule_firing(rt)
    await JobRunner(rt, registry).run(until_idle=True)
    fired = (await health(client, viewer))["scheduler"]

    assert fired["status"] == "ok"
    assert fired["last_fired_at"] == "2026-12-07T09:03:00Z"
    assert fired["next_due_at"] == "2026-12-07T09:04:00Z"


async def test_a_database_that_cannot_be_reached_is_down(tmp_path: Path) -> None:
    url = "postgresql+asyncpg://postgres@127.0.0.1:9/nothing-listens-on-port-9"
    settings = Settings(home=tmp_path / "home", database_url=url)
    runtime = Runtime(settings=settings, database=create_database(url))
    try:
        found = await service.check_system_health(runtime)
    finally:
        await runtime.close()

    assert found.status is service.Status.DOWN
    assert found.database.is_reachable is False
    assert found.database.error  # the driver's error type, e.g. ConnectionRefusedError
    assert (found.workers, found.queue, found.scheduler) == (None, None, None)


async def test_a_database_that_cannot_be_reached_answers_503(tmp_path: Path) -> None:
    url = "postgresql+asyncpg://postgres@127.0.0.1:9/nothing-listens-on-port-9"
    settings = Settings(home=tmp_path / "home", database_url=url)
    runtime = Runtime(settings=settings, database=create_database(url))
    transport = httpx.ASGITransport(app=app_on(runtime), client=("203.0.113.7", 50000))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://o.test") as client:
            response = await client.get(
                "/api/monitoring/health", headers=bearer("orch_" + "0" * 40)
            )
    finally:
        await runtime.close()

    assert response.status_code == 503
    assert response.headers["retry-after"]
