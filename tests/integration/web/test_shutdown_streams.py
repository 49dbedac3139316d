"""An open streaming response ends as soon as the server is asked to stop.

``serve`` runs ``StoppingServer``; streaming responses watch the app's shutdown event
(``web.lifecycle``). Here a real uvicorn server on a free loopback port streams to a
real client, and stopping it ends the stream with its last line instead of leaving
uvicorn waiting on it.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

from orchestrate.app.serve import StoppingServer, listen
from orchestrate.web.lifecycle import shutdown_event, wait_or_shutdown


async def ticks(request: Request) -> StreamingResponse:
    async def stream() -> AsyncIterator[str]:
        yield "data: open\n\n"
        while not await wait_or_shutdown(request.app, 60):
            yield "data: tick\n\n"
        yield "event: shutdown\n\n"

    return StreamingResponse(stream(), media_type="text/event-stream")


@pytest.fixture
def _sigterm_ignored() -> Iterator[None]:
    # uvicorn raises the signal it handled again once it has stopped (serve keeps it
    # from killing the process the same way); here it would end the test run.
    previous = signal.signal(signal.SIGTERM, lambda _signum, _frame: None)
    yield
    signal.signal(signal.SIGTERM, previous)


@pytest.mark.usefixtures("_sigterm_ignored")
async def test_an_open_stream_ends_with_its_last_line_when_the_server_stops() -> None:
    app = Starlette(routes=[Route("/stream", ticks)])
    listener = listen("127.0.0.1", 0)
    port = listener.getsockname()[1]
    worker_stop = asyncio.Event()
    config = uvicorn.Config(app, log_config=None, timeout_graceful_shutdown=30)
    server = StoppingServer(config, (worker_stop, shutdown_event(app)))
    serving = asyncio.create_task(server.serve(sockets=[listener]))
    while not server.started:  # uvicorn offers no event to wait on
        await asyncio.sleep(0.01)

    async with (
        httpx.AsyncClient() as client,
        client.stream("GET", f"http://127.0.0.1:{port}/stream") as response,
    ):
        lines = response.aiter_lines()
        assert await anext(lines) == "data: open"
        server.handle_exit(signal.SIGTERM, None)
        rest = [line async for line in lines if line]

    await asyncio.wait_for(serving, 10)  # far below the 30 s uvicorn would wait
    assert rest == ["event: shutdown"]
    assert worker_stop.is_set()
