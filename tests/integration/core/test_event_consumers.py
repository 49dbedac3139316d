"""Durable consumers: every matching event at least once, in order, across failures,
restarts and several workers."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from pathlib import Path

import pytest

from orchestrate.core.errors import Conflict, NotFound
from orchestrate.core.events import (
    BatchHandler,
    Consumer,
    Event,
    consumer_statuses,
    forget_consumer,
    read_events,
    record_event,
    run_consumers,
    slowest_consumer_cursor,
)
from orchestrate.core.events import _store as consumer_store
from orchestrate.core.runtime import Runtime
from orchestrate.core.settings import Settings
from orchestrate.core.uow import UnitOfWork
from tests.event_types import EffectHappened, Logged, Ticked

CONSUMER_SCRIPT = Path(__file__).with_name("consumer_process.py")


async def tick(runtime: Runtime, numbers: range) -> None:
    async with runtime.uow() as uow:
        for n in numbers:
            record_event(uow, Ticked(subject="consumers", n=n))
        record_event(uow, Logged(subject="consumers", line="not a tick"))
        await uow.commit()


async def until(condition: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def consume(
    runtime: Runtime, consumers: list[Consumer], done: Callable[[], bool], owner: str = "w1"
) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(run_consumers(runtime, consumers, owner, stop))
    try:
        await until(done)
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=30)


def collecting(seen: list[int]) -> Callable[[Event], Awaitable[None]]:
    async def handle(event: Event) -> None:
        seen.append(int(event.payload["n"]))

    return handle


async def test_a_consumer_gets_every_matching_event_in_order_and_its_cursor_is_stored(
    runtime: Runtime,
) -> None:
    await tick(runtime, range(12))
    seen: list[int] = []
    consumer = Consumer("counter", collecting(seen), types=("test.tick",), batch_size=5)

    await consume(runtime, [consumer], lambda: len(seen) >= 12)

    assert seen == list(range(12))
    [status] = await consumer_statuses(runtime.uow(read_only=True))
    assert (status.name, status.failures, status.lease_owner) == ("counter", 0, None)
    assert await slowest_consumer_cursor(runtime.uow(read_only=True)) == status.cursor > 0
    assert status.lag == 1  # the Logged event after the last tick is not for it


async def test_a_forgotten_consumer_no_longer_holds_back_pruning(runtime: Runtime) -> None:
    await tick(runtime, range(3))
    seen: list[int] = []
    await consume(runtime, [Consumer("gone", collecting(seen))], lambda: len(seen) >= 3)
    assert await slowest_consumer_cursor(runtime.uow(read_only=True)) is not None

    forgotten = await forget_consumer(runtime.uow(), "gone")

    assert (forgotten.name, forgotten.cursor > 0) == ("gone", True)
    assert await consumer_statuses(runtime.uow(read_only=True)) == []
    assert await slowest_consumer_cursor(runtime.uow(read_only=True)) is None
    with pytest.raises(NotFound, match="No event consumer named 'gone'"):
        await forget_consumer(runtime.uow(), "gone")


async def test_a_consumer_a_worker_runs_cannot_be_forgotten(runtime: Runtime) -> None:
    await consumer_store.ensure_consumer(runtime.uow(), "busy")
    taken = await consumer_store.take_lease(runtime.uow(), "busy", "worker-7", timedelta(minutes=1))
    assert taken == 0

    with pytest.raises(Conflict, match="running on worker-7"):
        await forget_consumer(runtime.uow(), "busy")

    [status] = await consumer_statuses(runtime.uow(read_only=True))
    assert (status.name, status.lease_owner) == ("busy", "worker-7")


async def test_a_failing_handler_is_retried_from_the_failed_event_and_nothing_is_skipped(
    runtime: Runtime,
) -> None:
    await tick(runtime, range(6))
    seen: list[int] = []
    failed: list[int] = []

    async def flaky(event: Event) -> None:
        n = int(event.payload["n"])
        if n == 3 and not failed:
            failed.append(n)
            raise RuntimeError("the mail server is down")
        seen.append(n)

    consumer = Consumer("flaky", flaky, types=("test.tick",))
    statuses: list[str | None] = []

    async def watch_failure() -> None:
        await until(lambda: bool(failed))
        for _ in range(50):
            [status] = await consumer_statuses(runtime.uow(read_only=True))
            if status.last_error:
                statuses.append(status.last_error)
                return
            await asyncio.sleep(0.02)

    watcher = asyncio.create_task(watch_failure())
    await consume(runtime, [consumer], lambda: len(seen) >= 6)
    await watcher

    assert seen == [0, 1, 2, 3, 4, 5]
    assert statuses == ["RuntimeError: the mail server is down"]
    [status] = await consumer_statuses(runtime.uow(read_only=True))
    assert (status.failures, status.last_error) == (0, None)


async def test_two_workers_run_one_consumer_one_at_a_time(
    runtime: Runtime, settings: Settings
) -> None:
    await tick(runtime, range(40))
    seen: list[int] = []
    consumer = Consumer("shared", collecting(seen), types=("test.tick",), batch_size=3)
    other = Runtime.open(settings)
    try:
        await asyncio.gather(
            consume(runtime, [consumer], lambda: len(seen) >= 40, owner="w1"),
            consume(other, [consumer], lambda: len(seen) >= 40, owner="w2"),
        )
    finally:
        await other.close()
    assert seen == list(range(40))


@pytest.mark.slow
async def test_a_consumer_killed_mid_batch_resumes_from_its_cursor(
    runtime: Runtime, settings: Settings, tmp_path: Path
) -> None:
    await tick(runtime, range(30))
    handled = tmp_path / "handled.txt"
    handled.touch()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORCHESTRATE_")}
    env |= {
        "ORCHESTRATE_DATABASE_URL": settings.database_url_value,
        "ORCHESTRATE_HOME": str(settings.home),
        "HANDLED_FILE": str(handled),
    }

    def lines() -> list[tuple[int, int]]:
        """(pid, n) of every handled event, in the order they were handled."""
        pairs = (line.split() for line in handled.read_text().splitlines())
        return [(int(pid), int(n)) for pid, n in pairs]

    first = subprocess.Popen([sys.executable, str(CONSUMER_SCRIPT)], env=env)
    await until(lambda: len(lines()) >= 12)
    first.send_signal(signal.SIGKILL)  # in the middle of its third batch of five
    first.wait(timeout=30)
    [status] = await consumer_statuses(runtime.uow(read_only=True))
    confirmed = [n for _, n in lines()]
    async with runtime.uow(read_only=True) as uow:
        before_cursor = [
            int(e.payload["n"])
            for e in await read_events(uow.session, limit=1000)
            if e.type == "test.tick" and e.id <= status.cursor
        ]

    second = subprocess.Popen([sys.executable, str(CONSUMER_SCRIPT)], env=env)
    try:
        await until(lambda: {n for _, n in lines()} >= set(range(30)), timeout=60)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=30)

    by_second = [n for pid, n in lines() if pid == second.pid]
    assert before_cursor == list(range(len(before_cursor)))
    assert len(before_cursor) % 5 == 0  # the cursor moves once per batch
    assert len(before_cursor) < len(confirmed)  # it was killed after the cursor moved
    # The second worker starts right after the stored cursor: the events the first one
    # handled but had not confirmed come again (at least once), none is skipped.
    assert by_second == list(range(len(before_cursor), 30))
    assert second.returncode == 0


def applying(calls: list[int], *, fail_first: bool = False) -> BatchHandler:
    """A batch handler whose effect is one ``test.effect`` row per tick, written in the
    cursor's transaction; ``fail_first`` makes its first batch raise after writing."""

    async def apply(uow: UnitOfWork, events: Sequence[Event]) -> None:
        calls.append(len(events))
        for event in events:
            record_event(uow, EffectHappened(subject="effects", worker=int(event.payload["n"])))
        if fail_first and len(calls) == 1:
            raise RuntimeError("the batch broke half-way")

    return apply


async def effect_numbers(runtime: Runtime) -> list[int]:
    async with runtime.uow(read_only=True) as uow:
        return [
            int(event.payload["worker"])
            for event in await read_events(uow.session, limit=1000)
            if event.type == "test.effect"
        ]


class TestBatchConsumers:
    async def test_a_batch_and_its_cursor_commit_together(self, runtime: Runtime) -> None:
        await tick(runtime, range(7))
        calls: list[int] = []
        consumer = Consumer("folder", batch=applying(calls), types=("test.tick",), batch_size=3)
        last_tick = max(e.id for e in await all_events(runtime) if e.type == "test.tick")

        async def caught_up() -> bool:
            statuses = await consumer_statuses(runtime.uow(read_only=True))
            return [status.cursor for status in statuses] == [last_tick]

        await consume_until(runtime, [consumer], caught_up)

        assert calls == [3, 3, 1]
        assert await effect_numbers(runtime) == list(range(7))

    async def test_a_batch_that_fails_half_way_leaves_nothing_and_is_applied_once_later(
        self, runtime: Runtime
    ) -> None:
        await tick(runtime, range(4))
        calls: list[int] = []
        consumer = Consumer(
            "flaky-folder", batch=applying(calls, fail_first=True), types=("test.tick",)
        )

        async def applied() -> bool:
            return len(await effect_numbers(runtime)) >= 4

        await consume_until(runtime, [consumer], applied)

        assert calls == [4, 4]
        assert await effect_numbers(runtime) == [0, 1, 2, 3]
        [status] = await consumer_statuses(runtime.uow(read_only=True))
        assert (status.failures, status.last_error) == (0, None)

    async def test_two_workers_racing_for_one_batch_consumer_apply_each_batch_once(
        self, runtime: Runtime, settings: Settings
    ) -> None:
        await tick(runtime, range(40))
        calls: list[int] = []
        consumer = Consumer(
            "shared-folder", batch=applying(calls), types=("test.tick",), batch_size=3
        )

        async def applied() -> bool:
            return len(await effect_numbers(runtime)) >= 40

        other = Runtime.open(settings)
        try:
            await asyncio.gather(
                consume_until(runtime, [consumer], applied, owner="w1"),
                consume_until(other, [consumer], applied, owner="w2"),
            )
        finally:
            await other.close()
        assert await effect_numbers(runtime) == list(range(40))

    def test_a_consumer_needs_exactly_one_of_handler_and_batch(self) -> None:
        with pytest.raises(ValueError, match="exactly one"):
            Consumer("neither")


async def all_events(runtime: Runtime) -> Sequence[Event]:
    async with runtime.uow(read_only=True) as uow:
        return await read_events(uow.session, limit=1000)


async def consume_until(
    runtime: Runtime,
    consumers: list[Consumer],
    done: Callable[[], Awaitable[bool]],
    owner: str = "w1",
    timeout: float = 30,
) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(run_consumers(runtime, consumers, owner, stop))
    deadline = time.monotonic() + timeout
    try:
        while not await done():
            assert time.monotonic() < deadline, "timed out"
            assert not task.done(), task
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=30)
