"""The event log: an event exists exactly when its change committed, and every reader
following it — in this process or another — gets each one once, in log order."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import event as sqlalchemy_event

from orchestrate.core.db import create_database
from orchestrate.core.events import (
    Event,
    EventFilter,
    decode,
    last_event_id,
    read_events,
    record_event,
)
from orchestrate.core.runtime import Runtime
from orchestrate.core.settings import Settings
from orchestrate.stories.events import StoryCreated
from tests.event_types import Renamed, Ticked


async def tick(runtime: Runtime, *numbers: int, subject: str = "subject") -> None:
    async with runtime.uow() as uow:
        for n in numbers:
            record_event(uow, Ticked(subject=subject, n=n))
        await uow.commit()


async def read_all(
    runtime: Runtime, *, after: int = 0, limit: int = 1000, only: EventFilter | None = None
) -> list[Event]:
    async with runtime.uow(read_only=True) as uow:
        return list(await read_events(uow.session, after=after, limit=limit, only=only))


@pytest.fixture
async def other_process(settings: Settings) -> AsyncIterator[Runtime]:
    """A second runtime on the same database: its own pool, feed and watcher, as another
    process has."""
    other = Runtime(settings=settings, database=create_database(settings.database_url_value))
    try:
        yield other
    finally:
        await other.close()


async def test_committed_events_read_back_as_the_typed_events_written(runtime: Runtime) -> None:
    async with runtime.uow() as uow:
        record_event(uow, StoryCreated(subject="story_1", title="A", status="backlog"))
        record_event(uow, Ticked(subject="story_1", n=7))
        await uow.commit()

    first, second = await read_all(runtime)

    assert (first.type, first.subject, first.version) == ("story.created", "story_1", 1)
    assert first.payload == {"title": "A", "status": "backlog"}
    assert decode(first) == StoryCreated(subject="story_1", title="A", status="backlog")
    assert decode(second) == Ticked(subject="story_1", n=7)
    assert second.id > first.id


async def test_an_event_of_another_schema_version_reads_back_as_the_generic_event(
    runtime: Runtime,
) -> None:
    async with runtime.uow() as uow:
        record_event(uow, Renamed(subject="x", name="new"))
        await uow.commit()
    [stored] = await read_all(runtime)
    assert stored.version == 2
    assert decode(stored) == Renamed(subject="x", name="new")

    older = Event(stored.id, stored.type, "x", {"old_name": "a"}, stored.created_at, version=1)
    assert decode(older) is older


async def test_rolled_back_events_are_never_stored(runtime: Runtime) -> None:
    async with runtime.uow() as uow:
        record_event(uow, Ticked(subject="story_1"))
        await uow.rollback()
    assert await read_all(runtime) == []


async def test_reading_from_a_cursor_pages_through_the_log_with_filters(runtime: Runtime) -> None:
    for n in range(5):
        await tick(runtime, n, subject=f"subject_{n % 2}")
    async with runtime.uow() as uow:
        record_event(uow, StoryCreated(subject="story_1", title="A", status="backlog"))
        await uow.commit()

    first = await read_all(runtime, limit=2)
    rest = await read_all(runtime, after=first[-1].id)
    only_subject = await read_all(runtime, only=EventFilter(subject="subject_1"))
    only_prefix = await read_all(runtime, only=EventFilter(types=("story.*",)))
    exact = await read_all(runtime, only=EventFilter(types=("test.tick",), subject="subject_0"))

    assert [e.payload["n"] for e in first] == [0, 1]
    assert [e.payload.get("n") for e in rest] == [2, 3, 4, None]
    assert [e.payload["n"] for e in only_subject] == [1, 3]
    assert [e.type for e in only_prefix] == ["story.created"]
    assert [e.payload["n"] for e in exact] == [0, 2, 4]


async def test_a_follower_gets_events_committed_by_another_process_in_order_once(
    runtime: Runtime, other_process: Runtime
) -> None:
    await tick(runtime, 0)
    start = await read_all(runtime)
    received: list[int] = []

    async def follow() -> None:
        async for batch in runtime.events.follow(start[-1].id, EventFilter(types=("test.*",))):
            received.extend(int(event.payload["n"]) for event in batch)
            if len(received) >= 5:
                return

    follower = asyncio.create_task(follow())
    await tick(other_process, 1, 2)
    await tick(runtime, 3)
    await tick(other_process, 4, 5)
    await asyncio.wait_for(follower, timeout=20)

    assert received == [1, 2, 3, 4, 5]


async def test_following_ends_when_the_runtime_closes(settings: Settings) -> None:
    runtime = Runtime(settings=settings, database=create_database(settings.database_url_value))
    batches: list[list[Event]] = []

    async def follow() -> None:
        async for batch in runtime.events.follow(0):
            batches.append(batch)

    follower = asyncio.create_task(follow())
    await tick(runtime, 1)
    while not batches:
        await asyncio.sleep(0.01)
    await runtime.close()
    await asyncio.wait_for(follower, timeout=10)
    assert [event.payload["n"] for event in batches[0]] == [1]


async def test_the_newest_event_id_is_where_a_reader_of_only_new_events_starts(
    runtime: Runtime,
) -> None:
    async with runtime.uow(read_only=True) as uow:
        assert await last_event_id(uow.session) == 0
    await tick(runtime, 1, 2)
    async with runtime.uow(read_only=True) as uow:
        newest = await last_event_id(uow.session)
    assert newest == (await read_all(runtime))[-1].id


async def test_readers_at_the_same_place_share_one_read_of_the_log(runtime: Runtime) -> None:
    await tick(runtime, 0)
    start = (await read_all(runtime))[-1].id
    reads: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if "FROM events" in statement:
            reads.append(statement)

    engine = runtime.database.engine.sync_engine
    sqlalchemy_event.listen(engine, "before_cursor_execute", count)
    try:
        followers = [runtime.events.follow(start) for _ in range(20)]
        pending = [asyncio.ensure_future(anext(follower)) for follower in followers]
        await asyncio.sleep(0.3)  # every reader has read once and waits for news
        reads.clear()
        await tick(runtime, 1)
        batches = await asyncio.wait_for(asyncio.gather(*pending), timeout=10)
    finally:
        sqlalchemy_event.remove(engine, "before_cursor_execute", count)
        for follower in followers:
            await follower.aclose()

    assert all([e.payload["n"] for e in batch] == [1] for batch in batches)
    assert len(reads) < 5  # twenty readers, one read (a slow one may start its own)
