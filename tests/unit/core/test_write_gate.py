"""The SQLite write gate: one writer at a time, urgent writers first, no lost turns."""

from __future__ import annotations

import asyncio

import pytest

from orchestrate.core.db import WriteGate


async def take_turn(gate: WriteGate, name: str, order: list[str], *, urgent: bool) -> None:
    await gate.acquire(urgent=urgent)
    order.append(name)
    await asyncio.sleep(0)
    gate.release()


async def queued(gate: WriteGate, names: list[tuple[str, bool]], order: list[str]) -> None:
    """Hold the gate while every writer of ``names`` queues, then let them through."""
    await gate.acquire()
    tasks = [asyncio.create_task(take_turn(gate, n, order, urgent=u)) for n, u in names]
    await asyncio.sleep(0.01)  # every task is waiting now
    gate.release()
    await asyncio.gather(*tasks)


async def test_waiters_of_one_kind_take_turns_in_arrival_order() -> None:
    order: list[str] = []
    await queued(WriteGate(), [("a", False), ("b", False), ("c", False)], order)
    assert order == ["a", "b", "c"]


async def test_urgent_writers_go_before_background_writers_that_came_earlier() -> None:
    order: list[str] = []
    names = [("job-1", False), ("request-1", True), ("job-2", False), ("request-2", True)]
    await queued(WriteGate(), names, order)
    assert order == ["request-1", "request-2", "job-1", "job-2"]


async def test_a_background_writer_gets_a_turn_after_a_run_of_urgent_ones() -> None:
    order: list[str] = []
    urgent = [(f"request-{n}", True) for n in range(WriteGate.URGENT_RUN + 2)]
    await queued(WriteGate(), [("job", False), *urgent], order)
    assert order.index("job") == WriteGate.URGENT_RUN
    assert [name for name in order if name != "job"] == [name for name, _ in urgent]


async def test_a_cancelled_waiter_neither_takes_a_turn_nor_blocks_the_next() -> None:
    gate = WriteGate()
    await gate.acquire()
    order: list[str] = []
    cancelled = asyncio.create_task(take_turn(gate, "cancelled", order, urgent=False))
    waiting = asyncio.create_task(take_turn(gate, "next", order, urgent=False))
    await asyncio.sleep(0.01)
    cancelled.cancel()
    gate.release()
    await asyncio.wait_for(waiting, 1)
    assert order == ["next"]
    with pytest.raises(asyncio.CancelledError):
        await cancelled


async def test_a_waiter_cancelled_as_its_turn_came_passes_the_turn_on() -> None:
    gate = WriteGate()
    await gate.acquire()
    order: list[str] = []
    first = asyncio.create_task(take_turn(gate, "first", order, urgent=False))
    second = asyncio.create_task(take_turn(gate, "second", order, urgent=False))
    await asyncio.sleep(0.01)
    gate.release()  # the turn is handed to ``first``, which is cancelled before it runs
    first.cancel()
    await asyncio.wait_for(second, 1)
    assert order == ["second"]


async def test_a_nested_acquire_by_the_holder_is_refused() -> None:
    gate = WriteGate()
    await gate.acquire()
    with pytest.raises(RuntimeError, match="nested write transaction"):
        await gate.acquire()
    gate.release()
