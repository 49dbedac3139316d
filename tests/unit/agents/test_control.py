"""``ControlWatcher.interruptible``: the work runs at once in the caller's task, and only
a pause or cancel request turns its cancellation into ``Interrupted``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from orchestrate.agents.control import ControlWatcher, Interrupted
from orchestrate.agents.models import ControlRequest
from orchestrate.core.runtime import Runtime
from orchestrate.core.settings import Settings


@pytest.fixture
async def watcher(tmp_path: Path) -> AsyncIterator[ControlWatcher]:
    # The watcher reads nothing from the database until start(); no migration needed.
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/o.db", home=tmp_path)
    runtime = Runtime.open(settings)
    try:
        yield ControlWatcher(runtime, "agent_1")
    finally:
        await runtime.close()


async def test_the_work_starts_before_tasks_that_were_ready_with_it(
    watcher: ControlWatcher,
) -> None:
    order: list[str] = []

    async def work() -> None:
        order.append("work started")
        await asyncio.sleep(0)

    async def agent() -> None:
        await watcher.interruptible(work())

    async def neighbour() -> None:
        order.append("neighbour ran")

    # Both tasks are ready in the same pass of the loop, the agent first: its model
    # request must go out then, not after everything else that was ready.
    await asyncio.gather(agent(), neighbour())
    assert order == ["work started", "neighbour ran"]


class Slow:
    """Work that takes half a minute; ``started`` is set once it is under way."""

    def __init__(self) -> None:
        self.started = asyncio.Event()

    async def run(self) -> str:
        self.started.set()
        await asyncio.sleep(30)
        return "never"


async def test_a_request_interrupts_the_work_and_leaves_the_task_uncancelled(
    watcher: ControlWatcher,
) -> None:
    slow = Slow()

    async def agent() -> tuple[str, int]:
        try:
            await watcher.interruptible(slow.run())
        except Interrupted as interrupted:
            task = asyncio.current_task()
            assert task is not None
            await asyncio.sleep(0)  # a leftover cancellation would strike here
            return interrupted.request.value, task.cancelling()
        return "finished", 0

    running = asyncio.create_task(agent())
    await slow.started.wait()
    watcher.deliver(ControlRequest.PAUSE)
    assert await asyncio.wait_for(running, 5) == (ControlRequest.PAUSE.value, 0)


async def test_a_cancellation_from_elsewhere_propagates(watcher: ControlWatcher) -> None:
    slow = Slow()
    running = asyncio.create_task(watcher.interruptible(slow.run()))
    await slow.started.wait()
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running


async def test_a_request_and_a_shutdown_together_end_in_the_shutdown(
    watcher: ControlWatcher,
) -> None:
    slow = Slow()
    running = asyncio.create_task(watcher.interruptible(slow.run()))
    await slow.started.wait()
    watcher.deliver(ControlRequest.CANCEL)
    running.cancel()  # the worker stops at the same moment: that wins
    with pytest.raises(asyncio.CancelledError):
        await running


async def test_work_that_ends_before_the_request_reaches_it_keeps_its_result(
    watcher: ControlWatcher,
) -> None:
    async def stubborn() -> str:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            return "done anyway"  # work that finishes its step rather than stop
        return "slept"

    async def agent() -> tuple[str, int]:
        result = await watcher.interruptible(stubborn())
        task = asyncio.current_task()
        assert task is not None
        await asyncio.sleep(0)  # no cancellation may be left pending for later
        return result, task.cancelling()

    running = asyncio.create_task(agent())
    await asyncio.sleep(0.01)
    watcher.deliver(ControlRequest.CANCEL)
    assert await asyncio.wait_for(running, 5) == ("done anyway", 0)
    assert watcher.request is ControlRequest.CANCEL  # the loop's next check() sees it
