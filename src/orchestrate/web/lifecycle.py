"""The app's shutdown signal, for responses that would otherwise never end.

A streaming response (Server-Sent Events, ``--follow`` feeds) stays open as long as
its client does, and uvicorn's graceful shutdown waits for every open response before
it lets the process exit. So ``serve`` sets the app's shutdown event the moment it is
asked to stop, and every long-lived generator watches it and returns:

    stop = shutdown_event(request.app)
    async def stream() -> AsyncIterator[str]:
        while not stop.is_set():
            ...                       # wait for the next item *or* ``stop.wait()``
"""

from __future__ import annotations

import asyncio
import contextlib

from starlette.applications import Starlette


def shutdown_event(app: Starlette) -> asyncio.Event:
    """The event set when the server begins to stop (created on first use)."""
    event = getattr(app.state, "shutdown", None)
    if not isinstance(event, asyncio.Event):
        event = asyncio.Event()
        app.state.shutdown = event
    return event


async def wait_or_shutdown(app: Starlette, seconds: float) -> bool:
    """Sleep up to ``seconds``, waking early when the server stops; True if it is stopping."""
    stop = shutdown_event(app)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
    return stop.is_set()
