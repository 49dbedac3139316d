"""``/ui/events``: the event log as Server-Sent Events, for a signed-in browser.

The same stream as ``/api/events/stream`` (every event of every process, in log order,
lossless across reconnects through ``Last-Event-ID``), authenticated by the session
cookie, since a browser's ``EventSource`` cannot send a bearer token. Each frame carries
only what ``static/live.js`` needs to decide which parts of a page to refresh: the id,
the type and the subject — never the payload, which a viewer's page need not hold.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Header, Request
from starlette.responses import Response

from orchestrate.core.events import Event
from orchestrate.core.runtime import Runtime
from orchestrate.dashboard.routing import page_router
from orchestrate.dashboard.session import SessionDep
from orchestrate.timeline import service as timeline
from orchestrate.web.deps import RuntimeDep
from orchestrate.web.schemas import MAX_SEQUENCE
from orchestrate.web.streams import open_stream

router = page_router()


@router.get("/ui/events")
async def events(
    request: Request,
    runtime: RuntimeDep,
    session: SessionDep,
    last_event_id: Annotated[int | None, Header(ge=0, le=MAX_SEQUENCE)] = None,
    after: int | None = None,
) -> Response:
    start = last_event_id if last_event_id is not None else after
    if start is None or start < 0 or start > MAX_SEQUENCE:
        start = await timeline.start_of_new_events(runtime.uow(read_only=True, urgent=True))
    return open_stream(request, session.actor, _frames(runtime, start))


async def _frames(runtime: Runtime, after: int) -> AsyncIterator[str]:
    yield "retry: 1000\n\n"
    async for batch in timeline.follow_events(runtime, after):
        if not batch:
            yield ": keep-alive\n\n"
            continue
        yield "".join(_frame(event) for event in batch)


def _frame(event: Event) -> str:
    data = json.dumps({"id": event.id, "type": event.type, "subject": event.subject})
    return f"id: {event.id}\ndata: {data}\n\n"
