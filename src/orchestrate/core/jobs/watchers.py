"""How an idle worker learns that new work may exist, without hammering the database.

* PostgreSQL: ``LISTEN orchestrate_jobs``; ``enqueue`` sends ``pg_notify`` in its
  transaction, so the notification arrives right after the commit.
* SQLite: ``PRAGMA data_version`` on a private connection changes whenever another
  connection commits. Checking it costs microseconds, so an idle worker can look every
  couple of milliseconds and only query the queue when something changed.

Both are accelerators: the runner still polls with back-off, so a missed signal only
delays work, it never loses it.
"""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Protocol

import structlog
from sqlalchemy.engine import URL

from orchestrate.core.jobs.queue import NOTIFY_CHANNEL

log = structlog.get_logger(__name__)


class ChangeWatcher(Protocol):
    poll_interval: float | None
    """Seconds between ``changed()`` checks, or None when the watcher pushes instead."""

    def changed(self) -> bool: ...

    async def close(self) -> None: ...


class NullWatcher:
    poll_interval: float | None = None

    def changed(self) -> bool:
        return False

    async def close(self) -> None:
        return None


class SqliteDataVersionWatcher:
    poll_interval: float | None = 0.002

    def __init__(self, path: str) -> None:
        self._connection = sqlite3.connect(path, check_same_thread=False)
        self._version = self._read()

    def _read(self) -> int:
        row = self._connection.execute("PRAGMA data_version").fetchone()
        return int(row[0])

    def changed(self) -> bool:
        current = self._read()
        if current != self._version:
            self._version = current
            return True
        return False

    async def close(self) -> None:
        self._connection.close()


class PostgresNotifyWatcher:
    poll_interval: float | None = None

    def __init__(self, connection: object) -> None:
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

    def changed(self) -> bool:
        return False

    async def close(self) -> None:
        try:
            await self._connection.close()  # type: ignore[attr-defined]
        except Exception:  # the connection may already be gone; nothing to clean up then
            log.debug("notify_connection_close_failed")


async def open_watcher(url: URL, wake: asyncio.Event) -> ChangeWatcher:
    """The best watcher for this database; falls back to plain polling on any trouble."""
    try:
        if url.get_backend_name() == "postgresql":
            return await PostgresNotifyWatcher.open(url, wake)
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            return SqliteDataVersionWatcher(str(url.database))
    except Exception as error:
        log.warning("job_watcher_unavailable", error=str(error))
    return NullWatcher()
