"""Telling workers that new jobs exist, the moment the enqueuing transaction commits.

* Runners in this process register an ``asyncio.Event``; ``wake_local_runners`` sets
  each on its own event loop (thread-safely), so an API request that enqueues work in
  ``serve`` starts it within a millisecond.
* Other processes on PostgreSQL ``LISTEN`` on ``NOTIFY_CHANNEL``; the notification is
  sent inside the enqueuing transaction, so it is delivered exactly on commit.
* Other processes on SQLite wait on named pipes (``fifo.py``).

A process never signals itself through the database or a pipe: its own runners were
woken directly, and the echo would only make each of them claim a second time and
find nothing. A notification carries the sending process's token
(``process_token``) so a watcher can tell its own echo apart.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import threading

from orchestrate.core.jobs.fifo import notify_listeners, wake_dir_for
from orchestrate.core.uow import UnitOfWork

NOTIFY_CHANNEL = "orchestrate_jobs"

_lock = threading.Lock()
_listeners: dict[int, tuple[asyncio.AbstractEventLoop, asyncio.Event]] = {}
_token: tuple[int, str] | None = None


def process_token() -> str:
    """This process's name on the notify channel; a forked child gets its own."""
    global _token
    pid = os.getpid()
    if _token is None or _token[0] != pid:
        _token = (pid, f"{pid}-{secrets.token_hex(6)}")
    return _token[1]


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


async def announce_new_jobs(uow: UnitOfWork) -> None:
    """Arrange for every worker to hear about jobs added in this unit of work (once)."""
    if not uow.first_time("jobs.announced"):
        return
    url = uow.database.engine.url
    if uow.database.dialect == "postgresql":
        uow.notify_on_commit(NOTIFY_CHANNEL, process_token())
    elif url.database not in (None, "", ":memory:"):
        directory = wake_dir_for(str(url.database))

        def notify_other_processes() -> None:
            notify_listeners(directory, skip_own=True)

        uow.after_commit(notify_other_processes)
    uow.after_commit(wake_local_runners)
