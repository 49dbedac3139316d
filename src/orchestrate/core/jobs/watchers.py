"""How an idle worker hears about new work from other processes without busy polling.

* PostgreSQL: ``LISTEN orchestrate_jobs`` on a dedicated connection.
* SQLite: a named pipe of this process that enqueuers write to (``fifo.py``).

Both only set the runner's wake event. While its watcher is ``live`` the runner trusts
it and polls only as a safety net (``poll_max``); without one (an in-memory database,
a LISTEN connection that dropped) it polls with back-off. A missed signal delays
work, it never loses it. A process's own enqueues wake its runners directly
(``signals.wake_local_runners``); the watcher ignores their echo.
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

import structlog
from sqlalchemy.engine import URL

from orchestrate.core.jobs.fifo import FifoListener, wake_dir_for
from orchestrate.core.jobs.signals import NOTIFY_CHANNEL, process_token

log = structlog.get_logger(__name__)


class ChangeWatcher(Protocol):
    @property
    def live(self) -> bool:
        """True while every enqueue by another process is sure to wake the runner."""
        ...

    async def close(self) -> None: ...


class NullWatcher:
    live = False

    async def close(self) -> None:
        return None


class SqliteFifoWatcher:
    def __init__(self, listener: FifoListener, wake: asyncio.Event) -> None:
        self._listener = listener
        self._loop = asyncio.get_running_loop()

        def on_readable() -> None:
            listener.drain()
            wake.set()

        self._loop.add_reader(listener.fileno(), on_readable)

    @property
    def live(self) -> bool:
        return True

    async def close(self) -> None:
        self._loop.remove_reader(self._listener.fileno())
        self._listener.close()


class PostgresNotifyWatcher:
    def __init__(self, connection: Any) -> None:
        self._connection = connection

    @property
    def live(self) -> bool:
        """False once the LISTEN connection is gone (the server restarted, a network
        cut): notifications sent since are lost, so the runner must poll again."""
        return not self._connection.is_closed()

    @classmethod
    async def open(cls, url: URL, wake: asyncio.Event) -> PostgresNotifyWatcher:
        import asyncpg

        dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
        connection = await asyncpg.connect(dsn)
        own = process_token()

        def on_notify(_connection: object, _pid: int, _channel: str, payload: str) -> None:
            if payload != own:
                wake.set()

        def on_lost(_connection: object) -> None:
            wake.set()  # the runner sees ``live`` turn False and polls from now on

        await connection.add_listener(NOTIFY_CHANNEL, on_notify)
        connection.add_termination_listener(on_lost)
        return cls(connection)

    async def close(self) -> None:
        try:
            await self._connection.close()
        except Exception:  # the connection may already be gone; nothing to clean up then
            log.debug("notify_connection_close_failed")


def can_watch(url: URL) -> bool:
    """Whether this database can have a watcher at all (not an in-memory SQLite)."""
    backend = url.get_backend_name()
    return backend == "postgresql" or (
        backend == "sqlite" and url.database not in (None, "", ":memory:")
    )


async def open_watcher(url: URL, wake: asyncio.Event) -> ChangeWatcher:
    """The best watcher for this database; falls back to plain polling on any trouble."""
    if not can_watch(url):
        return NullWatcher()
    try:
        if url.get_backend_name() == "postgresql":
            return await PostgresNotifyWatcher.open(url, wake)
        listener = FifoListener(wake_dir_for(str(url.database)))
        return SqliteFifoWatcher(listener, wake)
    except Exception as error:
        log.warning("job_watcher_unavailable", error=str(error))
    return NullWatcher()
