"""``GET /api/events`` (pages of the log) and ``GET /api/events/stream`` (live, as SSE)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse

from orchestrate.core.events import Event, EventFilter
from orchestrate.core.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from orchestrate.core.runtime import Runtime
from orchestrate.timeline import service
from orchestrate.timeline.schemas import EventOut
from orchestrate.web.deps import ActorDep, RuntimeDep, UowDep
from orchestrate.web.schemas import MAX_SEQUENCE, PageOut
from orchestrate.web.streams import TOO_MANY_STREAMS, open_stream

router = APIRouter(tags=["events"])

After = Annotated[
    int | None,
    Query(
        ge=0,
        le=MAX_SEQUENCE,
        description="The id of the last event you have; the answer starts after it.",
    ),
]
Types = Annotated[
    list[str] | None,
    Query(
        alias="type",
        max_length=20,
        description="Only these types: exact (`story.created`) or a prefix (`pipeline.*`); "
        "repeat for several.",
    ),
]
Subject = Annotated[
    str | None, Query(min_length=1, max_length=200, description="Only events about this id.")
]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)]


@router.get("/events", response_model=PageOut[EventOut])
async def list_events(
    uow: UowDep,
    _actor: ActorDep,
    after: After = None,
    types: Types = None,
    subject: Subject = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
) -> PageOut[EventOut]:
    """Events in log order after the event `after` (from the start without it).

    `next_cursor` is set when the page is full: pass it back as `after` for more. A
    client polling for new events passes the id of the last event it got.
    """
    only = EventFilter(types=tuple(types or ()), subject=subject)
    page = await service.list_events(uow, after=after or 0, only=only, limit=limit)
    return PageOut(items=[EventOut.of(event) for event in page.items], next_cursor=page.next_cursor)


@router.get(
    "/events/stream",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"text/event-stream": {}},
            "description": "Server-Sent Events: `id:` the event's id, `event:` its type, "
            "`data:` the event as JSON; comments as keep-alives.",
        },
        **TOO_MANY_STREAMS,
    },
)
async def stream_events(
    request: Request,
    uow: UowDep,
    runtime: RuntimeDep,
    actor: ActorDep,
    after: After = None,
    types: Types = None,
    subject: Subject = None,
    last_event_id: Annotated[int | None, Header(ge=0, le=MAX_SEQUENCE)] = None,
) -> StreamingResponse:
    """Every event as it commits, in any process. A reconnecting client sends
    `Last-Event-ID` (browsers do) and misses nothing; `after` starts after a known event;
    with neither the stream starts with the next event. A token holds at most
    `max_streams_per_token` streams at once (429 beyond)."""
    only = EventFilter(types=tuple(types or ()), subject=subject)
    start = last_event_id if last_event_id is not None else after
    if start is None:
        start = await service.start_of_new_events(uow)
    return open_stream(request, actor, _frames(runtime, start, only))


async def _frames(runtime: Runtime, after: int, only: EventFilter) -> AsyncIterator[str]:
    yield "retry: 1000\n\n"  # reconnect after a second; the cursor makes that lossless
    async for batch in service.follow_events(runtime, after, only):
        if not batch:
            yield ": keep-alive\n\n"
            continue
        yield "".join(_frame(event) for event in batch)


def _frame(event: Event) -> str:
    data = json.dumps(event.as_json(), separators=(",", ":"), default=str)
    return f"id: {event.id}\nevent: {event.type}\ndata: {data}\n\n"
