"""The durable job queue, in one process, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from orchestrate.core.clock import FrozenClock
from orchestrate.core.errors import Conflict, NotFound
from orchestrate.core.events import EventFilter, EventRow, read_events, record_event
from orchestrate.core.jobs import (
    JobContext,
    JobFailed,
    JobRegistry,
    JobRunner,
    JobStatus,
    LeaseLost,
    NewJob,
    RetryPolicy,
    RunnerConfig,
    cancel_job,
    enqueue,
    enqueue_many,
    get_job,
    queue_stats,
    retry_job,
)
from orchestrate.core.jobs.queue import claim_due_jobs
from orchestrate.core.jobs.tables import JobRow
from orchestrate.core.runtime import Runtime
from tests.event_types import EffectHappened
from tests.job_kinds import Note, note_kind

FAST = RunnerConfig(
    concurrency=8,
    batch_size=5,
    lease=timedelta(seconds=30),
    poll_max=timedelta(milliseconds=50),
    retry=RetryPolicy(base=timedelta(seconds=10), cap=timedelta(seconds=60)),
)


async def add_job(runtime: Runtime, kind: str = "test.noop", **options: Any) -> str:
    async with runtime.uow() as uow:
        job_id = await enqueue(uow, note_kind(kind), options.pop("payload", Note()), **options)
        await uow.commit()
    return job_id


async def job_row(runtime: Runtime, job_id: str) -> JobRow:
    async with runtime.uow(read_only=True) as uow:
        row = await uow.session.get(JobRow, job_id)
        assert row is not None
        return row


def registry_with(kind: str, handler: Any, **options: Any) -> JobRegistry:
    registry = JobRegistry()
    registry.register(note_kind(kind), handler, **options)
    return registry


async def run_until_idle(
    runtime: Runtime, registry: JobRegistry, config: RunnerConfig = FAST
) -> None:
    await asyncio.wait_for(JobRunner(runtime, registry, config).run(until_idle=True), 30)


class TestRunningJobs:
    async def test_an_enqueued_job_runs_once_and_keeps_its_result(self, runtime: Runtime) -> None:
        calls: list[Note] = []

        async def handler(context: JobContext[Note]) -> dict[str, Any]:
            calls.append(context.payload)
            return {"echo": context.payload.n}

        job_id = await add_job(runtime, payload=Note(n=7))
        await run_until_idle(runtime, registry_with("test.noop", handler))

        row = await job_row(runtime, job_id)
        assert calls == [Note(n=7)]
        assert row.status == JobStatus.SUCCEEDED
        assert row.result == {"echo": 7}
        assert row.attempts == 1
        assert row.lease_owner is None
        assert row.finished_at is not None

    async def test_a_job_is_invisible_to_workers_until_its_transaction_commits(
        self, runtime: Runtime
    ) -> None:
        async with runtime.uow() as uow:
            await enqueue(uow, note_kind("test.noop"), Note())
            # leaving without commit rolls the job back with everything else
        async with runtime.uow(read_only=True) as uow:
            assert await uow.session.scalar(select(func.count()).select_from(JobRow)) == 0

    async def test_the_same_idempotency_key_enqueues_only_once(self, runtime: Runtime) -> None:
        first = await add_job(runtime, key="webhook:123")
        second = await add_job(runtime, key="webhook:123")
        async with runtime.uow() as uow:
            ids = await enqueue_many(
                uow,
                [
                    NewJob(note_kind("test.noop"), Note(), key="webhook:123"),
                    NewJob(note_kind("test.noop"), Note()),
                ],
            )
            await uow.commit()

        assert first == second == ids[0]
        async with runtime.uow(read_only=True) as uow:
            assert await uow.session.scalar(select(func.count()).select_from(JobRow)) == 2

    async def test_higher_priority_jobs_start_first(self, runtime: Runtime) -> None:
        order: list[str] = []

        async def handler(context: JobContext[Note]) -> None:
            order.append(context.payload.name)

        await add_job(runtime, payload=Note(name="low"), priority=0)
        await add_job(runtime, payload=Note(name="high"), priority=10)
        config = RunnerConfig(concurrency=1, batch_size=1, poll_max=timedelta(milliseconds=50))
        await run_until_idle(runtime, registry_with("test.noop", handler), config)
        assert order == ["high", "low"]

    async def test_a_job_due_later_is_not_started_early(self, frozen_runtime: Runtime) -> None:
        clock = frozen_runtime.clock
        assert isinstance(clock, FrozenClock)
        ran: list[str] = []

        async def handler(context: JobContext[Any]) -> None:
            ran.append(context.job.id)

        registry = registry_with("test.noop", handler)
        job_id = await add_job(frozen_runtime, run_at=clock.now() + timedelta(minutes=5))
        await run_until_idle(frozen_runtime, registry)
        assert ran == []

        clock.advance(timedelta(minutes=5))
        await run_until_idle(frozen_runtime, registry)
        assert ran == [job_id]

    async def test_a_kind_with_a_concurrency_cap_never_runs_more_at_once_and_starts_in_order(
        self, runtime: Runtime
    ) -> None:
        running = 0
        peak = 0
        started: list[int] = []

        async def capped(context: JobContext[Note]) -> None:
            nonlocal running, peak
            running += 1
            peak = max(peak, running)
            started.append(context.payload.n)
            await asyncio.sleep(0.05)
            running -= 1

        async def free(context: JobContext[Any]) -> None:
            return None

        registry = registry_with("test.capped", capped, max_concurrent=2)
        registry.register(note_kind("test.free"), free)
        for n in range(6):
            await add_job(runtime, kind="test.capped", payload=Note(n=n))
        others = [await add_job(runtime, kind="test.free") for _ in range(5)]
        await run_until_idle(runtime, registry)

        assert peak == 2
        assert started == list(range(6))
        for job_id in others:
            assert (await job_row(runtime, job_id)).status == JobStatus.SUCCEEDED

    async def test_a_capped_kind_with_nothing_due_leaves_its_slots_to_other_kinds(
        self, runtime: Runtime
    ) -> None:
        async def handler(context: JobContext[Any]) -> None:
            return None

        registry = registry_with("test.capped", handler, max_concurrent=1)
        registry.register(note_kind("test.free"), handler)
        jobs = [await add_job(runtime, kind="test.free") for _ in range(3)]
        config = RunnerConfig(concurrency=1, batch_size=1, poll_max=timedelta(milliseconds=50))
        await asyncio.wait_for(JobRunner(runtime, registry, config).run(until_idle=True), 10)
        for job_id in jobs:
            assert (await job_row(runtime, job_id)).status == JobStatus.SUCCEEDED

    async def test_until_idle_runs_a_chain_of_jobs_that_each_enqueue_the_next(
        self, runtime: Runtime
    ) -> None:
        async def link(context: JobContext[Note]) -> None:
            async with context.uow() as uow:
                n = context.payload.n
                if n < 30:
                    await enqueue(uow, note_kind("test.link"), Note(n=n + 1))
                await context.complete_in(uow)
                await uow.commit()

        first = await add_job(runtime, kind="test.link", payload=Note(n=1))
        await run_until_idle(runtime, registry_with("test.link", link))
        async with runtime.uow(read_only=True) as uow:
            done = await uow.session.scalar(
                select(func.count())
                .select_from(JobRow)
                .where(JobRow.kind == "test.link", JobRow.status == JobStatus.SUCCEEDED.value)
            )
        assert (await job_row(runtime, first)).status == JobStatus.SUCCEEDED
        assert done == 30

    async def test_workers_only_claim_kinds_they_have_handlers_for(self, runtime: Runtime) -> None:
        async def handler(context: JobContext[Any]) -> None:
            return None

        other = await add_job(runtime, kind="test.other")
        await run_until_idle(runtime, registry_with("test.noop", handler))
        assert (await job_row(runtime, other)).status == JobStatus.QUEUED


class TestFailures:
    async def test_a_failing_job_is_retried_later_with_backoff(self, runtime: Runtime) -> None:
        async def handler(context: JobContext[Any]) -> None:
            raise RuntimeError("flaky network")

        job_id = await add_job(runtime, max_attempts=3)
        await run_until_idle(runtime, registry_with("test.noop", handler))

        row = await job_row(runtime, job_id)
        assert row.status == JobStatus.QUEUED
        assert row.attempts == 1
        assert "RuntimeError: flaky network" in (row.last_error or "")
        # attempt 1 waits between base/2 and base (10 s here)
        delay = (row.run_at - row.updated_at).total_seconds()
        assert 5 <= delay <= 10

    async def test_a_failure_asking_to_retry_after_a_while_waits_at_least_that_long(
        self, runtime: Runtime
    ) -> None:
        async def handler(context: JobContext[Any]) -> None:
            raise JobFailed("rate limited", retry_after=timedelta(minutes=2))

        job_id = await add_job(runtime, max_attempts=3)
        await run_until_idle(runtime, registry_with("test.noop", handler))

        row = await job_row(runtime, job_id)
        assert row.status == JobStatus.QUEUED
        # the backoff alone would be 5-10 s here
        assert (row.run_at - row.updated_at).total_seconds() >= 120

    async def test_a_job_out_of_attempts_is_dead_lettered_with_its_last_error(
        self, frozen_runtime: Runtime
    ) -> None:
        clock = frozen_runtime.clock
        assert isinstance(clock, FrozenClock)
        attempts: list[int] = []

        async def handler(context: JobContext[Any]) -> None:
            attempts.append(context.job.attempt)
            raise JobFailed(f"still broken on attempt {context.job.attempt}")

        registry = registry_with("test.noop", handler)
        job_id = await add_job(frozen_runtime, max_attempts=3)
        for _ in range(3):
            await run_until_idle(frozen_runtime, registry)
            clock.advance(timedelta(minutes=5))

        row = await job_row(frozen_runtime, job_id)
        assert attempts == [1, 2, 3]
        assert row.status == JobStatus.DEAD
        assert row.last_error == "still broken on attempt 3"
        async with frozen_runtime.uow(read_only=True) as uow:
            events = await read_events(uow.session, only=EventFilter(subject=job_id))
        assert [e.type for e in events] == ["job.dead"]

    async def test_a_permanent_failure_skips_the_remaining_attempts(self, runtime: Runtime) -> None:
        async def handler(context: JobContext[Any]) -> None:
            raise JobFailed("payload refers to a deleted story", retry=False)

        job_id = await add_job(runtime, max_attempts=5)
        await run_until_idle(runtime, registry_with("test.noop", handler))
        row = await job_row(runtime, job_id)
        assert (row.status, row.attempts) == (JobStatus.DEAD, 1)

    async def test_a_handler_that_overruns_its_timeout_fails_the_attempt(
        self, runtime: Runtime
    ) -> None:
        async def handler(context: JobContext[Any]) -> None:
            await asyncio.sleep(30)

        registry = registry_with("test.noop", handler, timeout=timedelta(milliseconds=100))
        job_id = await add_job(runtime, max_attempts=1)
        await run_until_idle(runtime, registry)
        row = await job_row(runtime, job_id)
        assert row.status == JobStatus.DEAD
        assert "timed out" in (row.last_error or "")

    async def test_a_result_that_is_not_json_fails_clearly(self, runtime: Runtime) -> None:
        async def handler(context: JobContext[Any]) -> object:
            return object()

        job_id = await add_job(runtime)
        await run_until_idle(runtime, registry_with("test.noop", handler))
        row = await job_row(runtime, job_id)
        assert row.status == JobStatus.DEAD
        assert "not JSON" in (row.last_error or "")


class TestLeases:
    async def test_a_job_of_a_dead_worker_is_reclaimed_after_its_lease_expires(
        self, frozen_runtime: Runtime
    ) -> None:
        clock = frozen_runtime.clock
        assert isinstance(clock, FrozenClock)
        attempts: list[int] = []

        async def handler(context: JobContext[Any]) -> None:
            attempts.append(context.job.attempt)

        job_id = await add_job(frozen_runtime)
        async with frozen_runtime.uow() as uow:
            claimed = await claim_due_jobs(
                uow.session,
                owner="crashed-worker",
                kinds=["test.noop"],
                limit=1,
                now=clock.now(),
                lease=timedelta(seconds=30),
            )
            await uow.commit()
        assert [job.id for job, _ in claimed] == [job_id]

        registry = registry_with("test.noop", handler)
        await run_until_idle(frozen_runtime, registry)
        assert attempts == [], "a live lease must not be taken over"

        clock.advance(timedelta(seconds=31))
        await run_until_idle(frozen_runtime, registry)
        row = await job_row(frozen_runtime, job_id)
        assert attempts == [2]
        assert (row.status, row.attempts) == (JobStatus.SUCCEEDED, 2)

    async def test_an_expired_lease_on_the_last_attempt_dead_letters_the_job(
        self, frozen_runtime: Runtime
    ) -> None:
        clock = frozen_runtime.clock
        assert isinstance(clock, FrozenClock)
        job_id = await add_job(frozen_runtime, max_attempts=1)
        async with frozen_runtime.uow() as uow:
            await claim_due_jobs(
                uow.session,
                owner="crashed-worker",
                kinds=["test.noop"],
                limit=1,
                now=clock.now(),
                lease=timedelta(seconds=30),
            )
            await uow.commit()
        clock.advance(timedelta(minutes=1))

        async def handler(context: JobContext[Any]) -> None:
            raise AssertionError("must not run again")

        await run_until_idle(frozen_runtime, registry_with("test.noop", handler))
        row = await job_row(frozen_runtime, job_id)
        assert row.status == JobStatus.DEAD
        assert "lease of worker crashed-worker expired" in (row.last_error or "")

    async def test_heartbeats_keep_a_long_job_owned_by_its_worker(self, runtime: Runtime) -> None:
        attempts: list[int] = []

        async def handler(context: JobContext[Any]) -> None:
            attempts.append(context.job.attempt)
            await asyncio.sleep(1.2)

        config = RunnerConfig(
            lease=timedelta(milliseconds=450), poll_max=timedelta(milliseconds=50)
        )
        job_id = await add_job(runtime)
        await run_until_idle(runtime, registry_with("test.noop", handler), config)
        row = await job_row(runtime, job_id)
        assert attempts == [1]
        assert (row.status, row.attempts) == (JobStatus.SUCCEEDED, 1)

    async def test_a_worker_that_lost_its_lease_stops_the_job_and_records_nothing(
        self, runtime: Runtime
    ) -> None:
        started = asyncio.Event()
        cancelled = asyncio.Event()

        async def handler(context: JobContext[Any]) -> None:
            started.set()
            try:
                await asyncio.sleep(30)
            except asyncio.CancelledError:
                cancelled.set()
                raise

        config = RunnerConfig(
            lease=timedelta(milliseconds=600), poll_max=timedelta(milliseconds=50)
        )
        job_id = await add_job(runtime)
        stop = asyncio.Event()
        runner = JobRunner(runtime, registry_with("test.noop", handler), config)
        task = asyncio.create_task(runner.run(stop))
        await asyncio.wait_for(started.wait(), 10)
        async with runtime.uow() as uow:  # another worker took the job over
            await uow.session.execute(
                update(JobRow).where(JobRow.id == job_id).values(lease_owner="thief")
            )
            await uow.commit()
        await asyncio.wait_for(cancelled.wait(), 10)
        stop.set()
        await asyncio.wait_for(task, 10)

        row = await job_row(runtime, job_id)
        assert (row.status, row.lease_owner) == (JobStatus.RUNNING, "thief")

    async def test_effects_committed_with_completion_are_rolled_back_when_the_lease_is_lost(
        self, runtime: Runtime
    ) -> None:
        outcomes: list[str] = []

        async def handler(context: JobContext[Any]) -> None:
            async with context.uow() as uow:
                record_event(uow, EffectHappened(subject=context.job.id))
                await uow.session.execute(  # simulate losing the job to another worker
                    update(JobRow).where(JobRow.id == context.job.id).values(lease_owner="thief")
                )
                try:
                    await context.complete_in(uow)
                except LeaseLost:
                    outcomes.append("lease lost")
                    raise
                await uow.commit()

        job_id = await add_job(runtime)
        await run_until_idle(runtime, registry_with("test.noop", handler))
        async with runtime.uow(read_only=True) as uow:
            effects = await uow.session.scalar(
                select(func.count()).select_from(EventRow).where(EventRow.type == "test.effect")
            )
        assert outcomes == ["lease lost"]
        assert effects == 0
        assert (await job_row(runtime, job_id)).status == JobStatus.RUNNING

    async def test_effects_and_completion_commit_together(self, runtime: Runtime) -> None:
        async def handler(context: JobContext[Any]) -> None:
            async with context.uow() as uow:
                record_event(uow, EffectHappened(subject=context.job.id))
                await context.complete_in(uow, {"done": True})
                await uow.commit()

        job_id = await add_job(runtime)
        await run_until_idle(runtime, registry_with("test.noop", handler))
        row = await job_row(runtime, job_id)
        assert (row.status, row.result) == (JobStatus.SUCCEEDED, {"done": True})
        async with runtime.uow(read_only=True) as uow:
            events = await read_events(uow.session, only=EventFilter(subject=job_id))
        assert [e.type for e in events] == ["test.effect"]

    async def test_stopping_a_worker_gives_unfinished_jobs_back_without_using_an_attempt(
        self, runtime: Runtime
    ) -> None:
        started = asyncio.Event()

        async def handler(context: JobContext[Any]) -> None:
            started.set()
            await asyncio.sleep(30)

        config = RunnerConfig(
            poll_max=timedelta(milliseconds=50), shutdown_grace=timedelta(milliseconds=100)
        )
        job_id = await add_job(runtime)
        stop = asyncio.Event()
        task = asyncio.create_task(
            JobRunner(runtime, registry_with("test.noop", handler), config).run(stop)
        )
        await asyncio.wait_for(started.wait(), 10)
        stop.set()
        await asyncio.wait_for(task, 10)

        row = await job_row(runtime, job_id)
        assert (row.status, row.attempts, row.lease_owner) == (JobStatus.QUEUED, 0, None)


class TestSteering:
    async def test_a_dead_job_can_be_retried_with_fresh_attempts(self, runtime: Runtime) -> None:
        async def failing(context: JobContext[Any]) -> None:
            raise JobFailed("boom", retry=False)

        job_id = await add_job(runtime)
        await run_until_idle(runtime, registry_with("test.noop", failing))
        async with runtime.uow() as uow:
            info = await retry_job(uow, job_id)
            await uow.commit()
        assert (info.status, info.attempts) == (JobStatus.QUEUED, 0)

        async def fixed(context: JobContext[Any]) -> str:
            return "ok"

        await run_until_idle(runtime, registry_with("test.noop", fixed))
        assert (await job_row(runtime, job_id)).status == JobStatus.SUCCEEDED

    async def test_only_dead_or_cancelled_jobs_can_be_retried(self, runtime: Runtime) -> None:
        job_id = await add_job(runtime)
        async with runtime.uow() as uow:
            with pytest.raises(Conflict, match="only dead or cancelled"):
                await retry_job(uow, job_id)

    async def test_a_queued_job_can_be_cancelled_and_then_never_runs(
        self, runtime: Runtime
    ) -> None:
        async def handler(context: JobContext[Any]) -> None:
            raise AssertionError("cancelled jobs must not run")

        job_id = await add_job(runtime)
        async with runtime.uow() as uow:
            info = await cancel_job(uow, job_id)
            await uow.commit()
        await run_until_idle(runtime, registry_with("test.noop", handler))
        assert info.status == JobStatus.CANCELLED
        assert (await job_row(runtime, job_id)).status == JobStatus.CANCELLED

    async def test_unknown_job_ids_are_reported_as_not_found(self, runtime: Runtime) -> None:
        async with runtime.uow() as uow:
            with pytest.raises(NotFound):
                await get_job(uow, "job_nope")
            with pytest.raises(NotFound):
                await cancel_job(uow, "job_nope")

    async def test_queue_stats_count_waiting_jobs_and_the_oldest_wait(
        self, frozen_runtime: Runtime
    ) -> None:
        clock = frozen_runtime.clock
        assert isinstance(clock, FrozenClock)
        await add_job(frozen_runtime, kind="a")
        await add_job(frozen_runtime, kind="a")
        await add_job(frozen_runtime, kind="b", run_at=clock.now() + timedelta(hours=1))
        clock.advance(timedelta(seconds=42))
        async with frozen_runtime.uow(read_only=True) as uow:
            stats = await queue_stats(uow)
        assert stats.counts == {("a", JobStatus.QUEUED): 2, ("b", JobStatus.QUEUED): 1}
        assert stats.depth == 3
        assert stats.oldest_due_age == timedelta(seconds=42)
