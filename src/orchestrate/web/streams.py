"""Open streams are capped per token: one client cannot hold every connection of serve.

A Server-Sent Events stream holds a connection, a task and a reader of the event log
for as long as the client keeps it open. Without a cap, one token (a leaked viewer
token, a dashboard tab opened in a loop) could open thousands and starve everyone
else. Each actor may hold ``max_streams_per_token`` streams at once; the next one gets
a 429 problem with ``Retry-After`` until one of its streams ends. Browsers reconnect an
``EventSource`` on their own, so a dashboard that lost a tab's slot recovers by itself.

The count is per process: serve is one process, and a worker serves no streams.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterable
from typing import Any

from fastapi import FastAPI, Request
from starlette.exceptions import HTTPException
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from orchestrate.core.identity import Actor

RETRY_AFTER_SECONDS = 5

TOO_MANY_STREAMS: dict[int | str, dict[str, Any]] = {
    429: {"description": "This token already holds its most open streams; retry later."}
}
"""The ``responses`` entry every stream route declares (the problem schema is added)."""

__all__ = [
    "TOO_MANY_STREAMS",
    "HeldStream",
    "StreamSlot",
    "StreamSlots",
    "install_stream_slots",
    "open_stream",
]


class StreamSlots:
    """How many streams each actor holds open in this process."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._open: Counter[str] = Counter()

    def take(self, holder: str) -> StreamSlot:
        """A slot for ``holder``'s new stream; a 429 when it holds ``limit`` already."""
        if self._open[holder] >= self.limit:
            raise HTTPException(
                429,
                f"This token already has {self.limit} open streams, the most allowed "
                f"(max_streams_per_token); close one or retry after {RETRY_AFTER_SECONDS} s.",
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
        self._open[holder] += 1
        return StreamSlot(self, holder)

    def open_streams(self, holder: str) -> int:
        return self._open[holder]

    def _release(self, holder: str) -> None:
        self._open[holder] -= 1
        if self._open[holder] <= 0:
            del self._open[holder]


class StreamSlot:
    """One taken slot; giving it back twice counts once."""

    def __init__(self, slots: StreamSlots, holder: str) -> None:
        self._slots = slots
        self._holder = holder
        self._held = True

    def release(self) -> None:
        if self._held:
            self._held = False
            self._slots._release(self._holder)


class HeldStream(StreamingResponse):
    """A streaming response that gives its slot back however it ends.

    Released when the response is done with, not when its body generator ends: a client
    that disconnects before the first byte leaves a generator that never started, and
    whose ``finally`` would never run.
    """

    def __init__(
        self,
        content: AsyncIterable[str],
        slot: StreamSlot,
        *,
        media_type: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(content, media_type=media_type, headers=headers)
        self._slot = slot

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._slot.release()


def install_stream_slots(app: FastAPI, limit: int) -> None:
    """Give the app its per-token stream counter (the composition root calls this)."""
    app.state.stream_slots = StreamSlots(limit)


def open_stream(
    request: Request,
    holder: Actor,
    content: AsyncIterable[str],
    *,
    media_type: str = "text/event-stream",
) -> HeldStream:
    """The response for a stream route, holding one of ``holder``'s slots.

    Call it last, once the route has refused everything else it would refuse: the slot is
    taken here, and given back only by the response it returns.
    """
    slots: StreamSlots = request.app.state.stream_slots
    slot = slots.take(holder.name)
    return HeldStream(
        content,
        slot,
        media_type=media_type,
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
