"""PostgreSQL allocates event ids when rows are inserted, not when they commit: a reader
following the log by cursor must still get the event of a transaction that commits late."""

from __future__ import annotations

import asyncio

import pytest

from orchestrate.core.events import EventFilter, read_events, record_event
from orchestrate.core.runtime import Runtime
from tests.event_types import Ticked

WRITERS = 8


async def write_and_hold(runtime: Runtime, n: int, start: asyncio.Event) -> None:
    """Insert an event, then keep the transaction open: the first to insert commits last."""
    await asyncio.sleep(n * 0.03)  # ids are allocated in writer order...
    async with runtime.uow() as uow:
        record_event(uow, Ticked(subject="late", n=n))
        await uow.session.flush()
        start.set()
        await asyncio.sleep((WRITERS - n) * 0.15)  # ...and commit in the reverse order
        await uow.commit()


async def test_a_cursor_reader_misses_no_event_of_writers_that_commit_late(
    runtime: Runtime, engine_name: str
) -> None:
    if engine_name != "postgresql":
        pytest.skip("SQLite has one writer at a time: its ids commit in order")
    started = asyncio.Event()
    writers = [asyncio.create_task(write_and_hold(runtime, n, started)) for n in range(WRITERS)]
    seen: list[int] = []
    cursor = 0
    await started.wait()
    while True:
        finished = all(writer.done() for writer in writers)
        async with runtime.uow(read_only=True) as uow:
            batch = await read_events(
                uow.session, after=cursor, only=EventFilter(types=("test.tick",))
            )
        if batch:
            cursor = batch[-1].id
            seen.extend(int(event.payload["n"]) for event in batch)
        elif finished:  # this read began after the last commit
            break
        await asyncio.sleep(0.01)
    await asyncio.gather(*writers)

    assert sorted(seen) == list(range(WRITERS))
    assert len(seen) == len(set(seen))
