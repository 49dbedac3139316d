"""The event log and the in-process bus: an event exists exactly when its change committed."""

from __future__ import annotations

import asyncio

from orchestrate.core.bus import Event
from orchestrate.core.events import read_events, record_event
from orchestrate.core.runtime import Runtime


async def test_committed_events_are_stored_and_published_in_order(runtime: Runtime) -> None:
    received: list[Event] = []

    async def handler(event: Event) -> None:
        received.append(event)

    runtime.bus.subscribe("story.*", handler)
    async with runtime.uow() as uow:
        record_event(uow, "story.created", "story_1", {"title": "A"})
        record_event(uow, "story.updated", "story_1", {"field": "title"})
        record_event(uow, "job.dead", "job_1")
        await uow.commit()

    async with runtime.uow(read_only=True) as uow:
        stored = await read_events(uow.session)
    assert [e.type for e in stored] == ["story.created", "story.updated", "job.dead"]
    assert stored[0].id < stored[1].id < stored[2].id
    assert [e.type for e in received] == ["story.created", "story.updated"]
    assert received[0].payload == {"title": "A"}
    assert received[0].id == stored[0].id


async def test_a_rolled_back_change_leaves_no_event_and_publishes_nothing(
    runtime: Runtime,
) -> None:
    received: list[Event] = []

    async def handler(event: Event) -> None:
        received.append(event)

    runtime.bus.subscribe("*", handler)
    async with runtime.uow() as uow:
        record_event(uow, "story.created", "story_1")
        # no commit: the unit of work rolls back on exit

    async with runtime.uow(read_only=True) as uow:
        assert await read_events(uow.session) == []
    assert received == []


async def test_readers_follow_the_log_from_a_cursor(runtime: Runtime) -> None:
    async with runtime.uow() as uow:
        for n in range(5):
            record_event(uow, "test.tick", f"subject_{n % 2}", {"n": n})
        await uow.commit()

    async with runtime.uow(read_only=True) as uow:
        first = await read_events(uow.session, limit=2)
        rest = await read_events(uow.session, after_id=first[-1].id)
        only_subject = await read_events(uow.session, subject="subject_1")
    assert [e.payload["n"] for e in first] == [0, 1]
    assert [e.payload["n"] for e in rest] == [2, 3, 4]
    assert [e.payload["n"] for e in only_subject] == [1, 3]


async def test_a_failing_subscriber_does_not_break_the_commit_or_other_subscribers(
    runtime: Runtime,
) -> None:
    received: list[str] = []

    async def broken(event: Event) -> None:
        raise RuntimeError("subscriber bug")

    async def healthy(event: Event) -> None:
        received.append(event.type)

    runtime.bus.subscribe("*", broken)
    runtime.bus.subscribe("*", healthy)
    async with runtime.uow() as uow:
        record_event(uow, "story.created", "story_1")
        await uow.commit()
    assert received == ["story.created"]


async def test_a_stream_delivers_matching_events_while_it_is_open(runtime: Runtime) -> None:
    async with runtime.bus.stream("job.*") as queue:
        async with runtime.uow() as uow:
            record_event(uow, "story.created", "story_1")
            record_event(uow, "job.dead", "job_1")
            await uow.commit()
        event = await asyncio.wait_for(queue.get(), 1)
    assert (event.type, event.subject) == ("job.dead", "job_1")
    assert queue.empty()
