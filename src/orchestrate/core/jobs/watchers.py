"""How an idle worker hears about new work from other processes without busy polling.

* PostgreSQL: ``LISTEN orchestrate_jobs`` on a dedicated connection.
* SQLite: a named pipe of this process that enqueuers write to (``fifo.py``).

Both only set the runner's wake event. The runner still polls with back-off, so a
missed signal delays work, it never loses it.
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

import structlog
from sqlalchemy.engine import URL

from orchestrate.core.jobs.fifo import FifoListener, wake_dir_for
from orchestrate.core.jobs.signals import NOTIFY_CHANNEL

log = structlog.get_logger(__name__)


class ChangeWatcher(Protocol):
    async def close(self) -> None: ...


class NullWatcher:
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

    async def close(self) -> None:
        self._loop.remove_reader(self._listener.fileno())
        self._listener.close()


class PostgresNotifyWatcher:
    def __init__(self, connection: Any) -> None:
        self._connection = connection

    @classmethod
    async def open(cls, url: URL, wake: asyncio.Event) -> PostgresNotifyWatcher:
        import asyncpg

        dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
        connection = await asyncpg.connect(dsn)

        def on_notify(*_args: object) -> None:
            wake.set()

        await connection.add_listener(NOTIFY_CHANNEL, on_notify)
        return cls(connection)

    async def close(self) -> None:
        try:
            await self._connection.close()
        except Exception:  # the connection may already be gone; nothing to clean up then
            log.debug("notify_connection_close_failed")


async def open_watcher(url: URL, wake: asyncio.Event) -> ChangeWatcher:
    """The best watcher for this database; falls back to plain polling on any trouble."""
    try:
        if url.get_backend_name() == "postgresql":
            return await PostgresNotifyWatcher.open(url, wake)
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            listener = FifoListener(wake_dir_for(str(url.database)))
            return SqliteFifoWatcher(listener, wake)
    except Exception as error:
        log.warning("job_watcher_unavailable", error=str(error))
    return NullWatcher()
