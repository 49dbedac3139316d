"""``/ui/events``: the event log as Server-Sent Events, for a signed-in browser.

The same stream as ``/api/events/stream`` (every event of every process, in log order,
lossless across reconnects through ``Last-Event-ID``), authenticated by the session
cookie, since a browser's ``EventSource`` cannot send a bearer token. Each event's frame
carries only what ``static/live.js`` needs to decide which parts of a page to refresh:
the id, the type and the subject — never the payload, which a viewer's page need not
hold. With ``watch`` (see ``dashboard/pushed.py``) the stream also carries the parts of
the open pages that an event changed, rendered, as ``part`` frames.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Annotated

from fastapi import Header, Request
from starlette.exceptions import HTTPException
from starlette.responses import Response

from orchestrate.core.events import Event
from orchestrate.core.runtime import Runtime
from orchestrate.dashboard.pushed import (
    PartRenderer,
    PushSchedule,
    WatchError,
    parse_watch,
    watching_frame,
)
from orchestrate.dashboard.routing import page_router
from orchestrate.dashboard.session import SessionDep, SignInRequired, verified_session
from orchestrate.timeline import service as timeline
from orchestrate.web.deps import RuntimeDep
from orchestrate.web.schemas import MAX_SEQUENCE
from orchestrate.web.streams import open_stream

router = page_router()

SESSION_CHECK_SECONDS = 10.0


@router.get("/ui/events")
async def events(
    request: Request,
    runtime: RuntimeDep,
    session: SessionDep,
    last_event_id: Annotated[int | None, Header(ge=0, le=MAX_SEQUENCE)] = None,
    after: int | None = None,
    watch: str | None = None,
) -> Response:
    try:
        schedule = PushSchedule(parse_watch(watch) if watch else [])
    except WatchError as error:
        raise HTTPException(400, str(error)) from None
    start = last_event_id if last_event_id is not None else after
    if start is None or start < 0 or start > MAX_SEQUENCE:
        start = await timeline.start_of_new_events(runtime.uow(read_only=True, urgent=True))
    elif schedule:
        # Resumed where another stream (or this one, before a drop) ended: what that
        # stream still owed its parts died with it, so every part is pushed once now.
        schedule.mark_all()

    renderer = PartRenderer(request, session) if schedule else None

    async def still_signed_in() -> bool:
        try:
            fresh = await verified_session(request, runtime)
        except SignInRequired:
            return False
        if renderer is not None:
            renderer.session = fresh
        return True

    return open_stream(
        request, session.actor, _frames(runtime, start, still_signed_in, schedule, renderer)
    )


async def _frames(
    runtime: Runtime,
    after: int,
    still_signed_in: Callable[[], Awaitable[bool]],
    schedule: PushSchedule,
    renderer: PartRenderer | None,
) -> AsyncGenerator[str, None]:
    """The frames of the stream; it ends once the session does (signed out, expired, or its
    token revoked), checked at most every ``SESSION_CHECK_SECONDS``. Between batches of
    events it pushes the watched parts that are due."""
    yield "retry: 1000\n\n"
    if schedule:
        yield watching_frame(schedule)
    checked = time.monotonic()
    seen = after
    batches = timeline.follow_events(runtime, after)
    next_batch = asyncio.ensure_future(anext(batches))
    try:
        while True:
            done, _ = await asyncio.wait({next_batch}, timeout=schedule.wait(time.monotonic()))
            if done:
                try:
                    batch = next_batch.result()
                except StopAsyncIteration:
                    return
                next_batch = asyncio.ensure_future(anext(batches))
                if time.monotonic() - checked >= SESSION_CHECK_SECONDS:
                    checked = time.monotonic()
                    if not await still_signed_in():
                        return
                if not batch:
                    yield ": keep-alive\n\n"
                    continue
                yield "".join(_frame(event) for event in batch)
                seen = batch[-1].id
                schedule.note(batch)
            due = schedule.due(time.monotonic())
            if due and renderer is not None:
                pushed = await renderer.frames(due, seen)
                if pushed:
                    yield pushed
    finally:
        next_batch.cancel()
        await asyncio.wait({next_batch})  # let it finish before the generator is closed
        if not next_batch.cancelled():
            next_batch.exception()  # retrieved: its end (or failure) is the stream's end
        await batches.aclose()


def _frame(event: Event) -> str:
    data = json.dumps({"id": event.id, "type": event.type, "subject": event.subject})
    return f"id: {event.id}\ndata: {data}\n\n"
