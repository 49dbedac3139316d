"""An aiosqlite connection that runs quick statements on the event loop's own thread.

aiosqlite runs every call on a thread of its own, and SQLAlchemy's adapter makes three
or four calls of each statement (open a cursor, execute, fetch, close): as many
hand-offs to that thread and back, each a queue put, a thread wake-up, a GIL hand-over
and a wake-up of the event loop through its self-pipe. A lookup by primary key costs
SQLite ~5 µs; through SQLAlchemy and those hand-offs it cost ~140 µs of CPU, ~35 µs
with the calls inline (bench/agent_tree.py's worker spent most of its CPU there).

This connection runs a call inline when it cannot wait long, and on aiosqlite's thread
(as before) when it may:

* SQLite waits only for another connection's lock (its busy handler, up to the busy
  timeout). Inline calls run with a busy timeout of 0, so a lock another process holds
  fails them at once (``SQLITE_BUSY``, before the statement changed anything); the
  statement then runs again on the thread with the full timeout, and the event loop
  keeps running meanwhile. Within a process, ``WriteGate`` lets one transaction write
  at a time, so the lock is never contended there.
* A query (``SELECT``, or ``WITH`` … ``SELECT``) still running after
  ``INLINE_BUDGET_SECONDS`` (a scan of a large table) is interrupted by a progress
  handler and runs again on the thread; a read has nothing to undo. Writes are never
  interrupted: an interrupted write inside a transaction rolls the whole transaction
  back.
* ``COMMIT`` runs inline too, but the log is checkpointed into the database file (which
  writes and syncs pages) on the thread, after a commit, at most once a second or every
  ``CHECKPOINT_COMMITS`` commits (``_Checkpoints``), not by SQLite inside a commit.

Calls never overlap: while a call is on the thread, later calls of the connection
queue behind it there, so the order of operations is the one aiosqlite gives.
"""

from __future__ import annotations

import asyncio
import functools
import re
import sqlite3
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiosqlite

INLINE_BUDGET_SECONDS = 0.002
"""How long a query may run on the event loop before it moves to the thread."""
CHECKPOINT_INTERVAL_SECONDS = 1.0
CHECKPOINT_COMMITS = 200
"""A passive checkpoint of the log follows a commit at least this often (``_Checkpoints``)."""
_PROGRESS_STEPS = 1000  # SQLite VM instructions between checks of the budget
_INLINE = frozenset(
    {"cursor", "execute", "executemany", "fetchone", "fetchmany", "fetchall", "rollback"}
)
_RETRIED = frozenset({"execute", "executemany"})
_READ = re.compile(r"\s*(SELECT\b|WITH\b(?!.*\b(INSERT|UPDATE|DELETE|REPLACE)\b))", re.I | re.S)


class InlineConnection(aiosqlite.Connection):
    """An ``aiosqlite.Connection`` that runs what cannot wait inline (see the module)."""

    def __init__(self, database: str, busy_timeout_seconds: float) -> None:
        super().__init__(functools.partial(self._open, database), iter_chunk_size=64)
        self._thread.daemon = True  # as SQLAlchemy's dialect does: exit never waits for it
        self._busy_timeout_ms = int(busy_timeout_seconds * 1000)
        self._on_thread_now = 0
        self._deadline = 0.0
        self._checkpoints = _checkpoints_of(database)

    def _open(self, database: str) -> sqlite3.Connection:
        # Opened on aiosqlite's thread and used from the event loop's too, never at once.
        connection = sqlite3.connect(database, timeout=0, check_same_thread=False)
        connection.set_progress_handler(self._over_budget, _PROGRESS_STEPS)
        connection.execute("PRAGMA wal_autocheckpoint=0").close()  # ours: see ``commit``
        return connection

    def _over_budget(self) -> int:
        return 1 if self._deadline and time.monotonic() > self._deadline else 0

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run one call of aiosqlite's (every one comes through here) inline, or not."""
        name = getattr(fn, "__name__", "")
        on_cursor = isinstance(getattr(fn, "__self__", None), sqlite3.Cursor)
        may_inline = name in _INLINE or (on_cursor and name == "close")
        if not may_inline or self._on_thread_now or self._connection is None:
            return await self._on_thread(fn, *args, **kwargs)
        is_query = name == "execute" and bool(args) and _is_query(args[0])
        if is_query:
            self._deadline = time.monotonic() + INLINE_BUDGET_SECONDS
        try:
            return fn(*args, **kwargs)
        except sqlite3.OperationalError as error:
            code = getattr(error, "sqlite_errorcode", 0) & 0xFF
            locked = code == sqlite3.SQLITE_BUSY and name in _RETRIED
            if not (locked or (is_query and code == sqlite3.SQLITE_INTERRUPT)):
                raise
        finally:
            self._deadline = 0.0
        return await self._patiently(fn, *args, **kwargs)

    async def _on_thread(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run ``fn`` on aiosqlite's thread; later calls queue behind it there.

        Counted until the thread is done with it, not until the caller stops waiting: a
        cancelled caller leaves the call running there, and nothing may run inline then.
        """
        thread_call: Callable[[Callable[..., Any]], Awaitable[Any]] = super()._execute
        if not self._running or self._connection is None:
            return await thread_call(functools.partial(fn, *args, **kwargs))  # raises: closed
        loop = asyncio.get_running_loop()

        def run() -> Any:
            try:
                return fn(*args, **kwargs)
            finally:
                loop.call_soon_threadsafe(self._left_thread)

        self._on_thread_now += 1
        return await thread_call(run)

    def _left_thread(self) -> None:
        self._on_thread_now -= 1

    async def _patiently(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run ``fn`` on aiosqlite's thread, waiting for other processes' locks."""
        raw = self._conn

        def with_busy_timeout() -> Any:
            raw.execute(f"PRAGMA busy_timeout={self._busy_timeout_ms}")
            try:
                return fn(*args, **kwargs)
            finally:
                raw.execute("PRAGMA busy_timeout=0")

        return await self._on_thread(with_busy_timeout)

    async def commit(self) -> None:
        """Commit inline; now and then checkpoint the log on the thread (see the module)."""
        if self._on_thread_now or self._connection is None:
            await self._patiently(self._conn.commit)
        else:
            try:
                self._connection.commit()
            except sqlite3.OperationalError as error:
                if getattr(error, "sqlite_errorcode", 0) & 0xFF != sqlite3.SQLITE_BUSY:
                    raise
                await self._patiently(self._conn.commit)
        if self._checkpoints.due():
            await self._on_thread(self._checkpoint)

    def _checkpoint(self) -> None:
        try:
            self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").close()
        finally:
            self._checkpoints.done()


class _Checkpoints:
    """When the connections of one database file in this process last checkpointed.

    SQLite's own automatic checkpoint runs inside the commit that fills the log past
    1,000 pages, which would be a commit on the event loop that writes and syncs pages.
    Instead the connections turn it off, and the first commit after
    ``CHECKPOINT_INTERVAL_SECONDS`` or ``CHECKPOINT_COMMITS`` commits runs a passive
    checkpoint on its thread (it never waits for, nor blocks, readers and writers). When
    the last connection to the database closes, SQLite checkpoints once more.
    """

    def __init__(self) -> None:
        self._last = time.monotonic()
        self._commits = 0

    def due(self) -> bool:
        self._commits += 1
        elapsed = time.monotonic() - self._last
        return self._commits >= CHECKPOINT_COMMITS or elapsed >= CHECKPOINT_INTERVAL_SECONDS

    def done(self) -> None:
        self._last, self._commits = time.monotonic(), 0


@functools.cache
def _checkpoints_of(database: str) -> _Checkpoints:
    return _Checkpoints()


@functools.lru_cache(maxsize=1024)
def _is_query(sql: object) -> bool:
    """Whether ``sql`` only reads (interrupting it undoes nothing). The texts come from
    SQLAlchemy's compiled cache, so each is looked at once."""
    return isinstance(sql, str) and _READ.match(sql) is not None


def connector(database: str, busy_timeout_seconds: float) -> Callable[[], Awaitable[Any]]:
    """An ``async_creator`` for ``create_async_engine``: opens an ``InlineConnection``."""

    async def connect() -> InlineConnection:
        connection = InlineConnection(database, busy_timeout_seconds)
        await connection
        return connection

    return connect
