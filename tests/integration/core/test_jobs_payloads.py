"""Typed payloads through the real queue: parsed for the handler, refused when malformed."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update

from orchestrate.core.events import EventFilter, read_events
from orchestrate.core.jobs import (
    JobContext,
    JobKind,
    JobPayload,
    JobRegistry,
    JobRunner,
    JobStatus,
    RunnerConfig,
    enqueue,
)
from orchestrate.core.jobs.tables import JobRow
from orchestrate.core.runtime import Runtime

FAST = RunnerConfig(concurrency=4, batch_size=4, poll_max=timedelta(milliseconds=50))


class Deploy(JobPayload):
    service: str
    replicas: int


DEPLOY = JobKind("test.deploy", Deploy)


async def deploy_job(runtime: Runtime, payload: Deploy) -> str:
    async with runtime.uow() as uow:
        job_id = await enqueue(uow, DEPLOY, payload, max_attempts=5)
        await uow.commit()
    return job_id


async def store_payload(runtime: Runtime, job_id: str, stored: Any) -> None:
    """Overwrite a queued job's payload, as an older version or a hand edit would leave it."""
    async with runtime.uow() as uow:
        await uow.session.execute(update(JobRow).where(JobRow.id == job_id).values(payload=stored))
        await uow.commit()


async def run_deploys(runtime: Runtime, seen: list[Deploy]) -> None:
    async def handler(context: JobContext[Deploy]) -> dict[str, int]:
        seen.append(context.payload)
        return {"replicas": context.payload.replicas}

    registry = JobRegistry()
    registry.register(DEPLOY, handler)
    await asyncio.wait_for(JobRunner(runtime, registry, FAST).run(until_idle=True), 30)


async def job_row(runtime: Runtime, job_id: str) -> JobRow:
    async with runtime.uow(read_only=True) as uow:
        row = await uow.session.get(JobRow, job_id)
        assert row is not None
        return row


async def test_the_handler_receives_the_payload_it_was_enqueued_with(runtime: Runtime) -> None:
    seen: list[Deploy] = []
    job_id = await deploy_job(runtime, Deploy(service="api", replicas=3))
    await run_deploys(runtime, seen)

    row = await job_row(runtime, job_id)
    assert seen == [Deploy(service="api", replicas=3)]
    assert row.payload == {"service": "api", "replicas": 3}
    assert (row.status, row.result) == (JobStatus.SUCCEEDED, {"replicas": 3})


async def test_a_payload_stored_before_the_model_existed_runs_when_its_keys_fit(
    runtime: Runtime,
) -> None:
    seen: list[Deploy] = []
    job_id = await deploy_job(runtime, Deploy(service="api", replicas=1))
    await store_payload(runtime, job_id, {"service": "web", "replicas": "2", "legacy": True})
    await run_deploys(runtime, seen)

    assert seen == [Deploy(service="web", replicas=2)]
    assert (await job_row(runtime, job_id)).status == JobStatus.SUCCEEDED


@pytest.mark.parametrize(
    ("stored", "problem"),
    [
        ({"service": "api"}, "replicas: Field required"),
        ({"service": "api", "replicas": "three"}, "replicas: Input should be a valid integer"),
        (["api", 3], "the payload: Input should be a valid dictionary"),
    ],
    ids=["missing field", "wrong type", "not an object"],
)
async def test_a_malformed_payload_is_dead_lettered_at_once_with_the_validation_message(
    runtime: Runtime, stored: Any, problem: str
) -> None:
    seen: list[Deploy] = []
    job_id = await deploy_job(runtime, Deploy(service="api", replicas=3))
    await store_payload(runtime, job_id, stored)
    await run_deploys(runtime, seen)

    row = await job_row(runtime, job_id)
    assert seen == []
    assert (row.status, row.attempts) == (JobStatus.DEAD, 1)
    error = row.last_error or ""
    assert error.startswith("The payload of this 'test.deploy' job does not fit Deploy: ")
    assert problem in error
    assert "Traceback" not in error
    assert "KeyError" not in error
    async with runtime.uow(read_only=True) as uow:
        events = await read_events(uow.session, only=EventFilter(subject=job_id))
    assert [event.type for event in events] == ["job.dead"]


async def test_a_malformed_job_does_not_hold_up_the_good_ones_beside_it(
    runtime: Runtime,
) -> None:
    seen: list[Deploy] = []
    bad = await deploy_job(runtime, Deploy(service="bad", replicas=1))
    await store_payload(runtime, bad, {"replicas": 1})
    good = [await deploy_job(runtime, Deploy(service=f"s{n}", replicas=n)) for n in range(3)]
    await run_deploys(runtime, seen)

    assert sorted(payload.service for payload in seen) == ["s0", "s1", "s2"]
    assert (await job_row(runtime, bad)).status == JobStatus.DEAD
    for job_id in good:
        assert (await job_row(runtime, job_id)).status == JobStatus.SUCCEEDED
