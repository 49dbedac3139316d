"""Wake job runners of this process the moment a job is committed, without a poll.

Runners register an ``asyncio.Event``; ``wake_local_runners`` sets each one on its
own event loop (thread-safely), so an API request that enqueues work in ``serve``
starts it within a millisecond.
"""

from __future__ import annotations

import asyncio
import threading

_lock = threading.Lock()
_listeners: dict[int, tuple[asyncio.AbstractEventLoop, asyncio.Event]] = {}


def register(event: asyncio.Event) -> None:
    with _lock:
        _listeners[id(event)] = (asyncio.get_running_loop(), event)


def unregister(event: asyncio.Event) -> None:
    with _lock:
        _listeners.pop(id(event), None)


def wake_local_runners() -> None:
    with _lock:
        targets = list(_listeners.values())
    for loop, event in targets:
        if loop.is_closed():
            continue
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            event.set()
        else:
            loop.call_soon_threadsafe(event.set)
