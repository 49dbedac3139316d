"""The database layer: SQLite connection settings and timezone-aware timestamps."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from orchestrate.core.db import create_database
from orchestrate.core.errors import ConfigurationError
from orchestrate.core.events import read_events, record_event
from orchestrate.core.runtime import Runtime
from orchestrate.core.uow import UnitOfWork
from tests.conftest import require_postgres
from tests.event_types import Ticked


async def test_sqlite_connections_use_wal_and_foreign_keys(tmp_path: Path) -> None:
    database = create_database(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    try:
        async with database.engine.connect() as connection:
            journal = await connection.scalar(text("PRAGMA journal_mode"))
            foreign_keys = await connection.scalar(text("PRAGMA foreign_keys"))
    finally:
        await database.dispose()
    assert journal == "wal"
    assert foreign_keys == 1


class _Ticker:
    """Counts ticks of the event loop every 10 ms: a blocked loop stops counting."""

    def __init__(self) -> None:
        self.ticks = 0
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(0.01)
            self.ticks += 1

    async def stop(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


async def test_a_write_waits_for_another_process_lock_while_the_event_loop_runs_on(
    tmp_path: Path,
) -> None:
    path = tmp_path / "x.db"
    database = create_database(f"sqlite+aiosqlite:///{path}")
    try:
        async with database.engine.begin() as connection:
            await connection.execute(text("CREATE TABLE t (n INTEGER)"))
        # As another process would; committed from a timer's thread.
        other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        other.execute("BEGIN IMMEDIATE")
        other.execute("INSERT INTO t VALUES (1)")
        threading.Timer(0.5, other.commit).start()
        ticker = _Ticker()
        started = time.monotonic()
        async with database.engine.begin() as connection:
            await connection.execute(text("INSERT INTO t VALUES (2)"))
        waited = time.monotonic() - started
        await ticker.stop()
        async with database.engine.connect() as connection:
            values = (await connection.execute(text("SELECT n FROM t ORDER BY n"))).scalars()
            stored = list(values)
        other.close()
    finally:
        await database.dispose()
    assert stored == [1, 2]
    assert waited >= 0.4, "the write should have waited for the other connection's commit"
    assert ticker.ticks >= 20, "the event loop should have kept running while it waited"


async def test_a_long_query_gives_its_full_answer_and_does_not_hold_up_the_event_loop(
    tmp_path: Path,
) -> None:
    database = create_database(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    count_to = text(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :last) "
        "SELECT count(*), sum(i) FROM n"
    )
    try:
        async with database.engine.connect() as connection:
            started = time.monotonic()
            ticker = _Ticker()
            row = (await connection.execute(count_to, {"last": 3_000_000})).one()
            took = time.monotonic() - started
            await ticker.stop()
    finally:
        await database.dispose()
    assert tuple(row) == (3_000_000, 3_000_000 * 3_000_001 // 2)
    assert ticker.ticks >= took / 0.01 / 2, "the loop should tick while the query runs"


async def test_the_write_ahead_log_is_checkpointed_so_it_stays_small(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    database = create_database(f"sqlite+aiosqlite:///{path}")
    try:
        async with database.engine.begin() as connection:
            await connection.execute(text("CREATE TABLE t (body BLOB)"))
        for _ in range(1_000):  # ~8 MB through the log, two pages a commit
            async with database.engine.begin() as connection:
                await connection.execute(text("INSERT INTO t VALUES (:b)"), {"b": b"x" * 5000})
        log_size = (tmp_path / "x.db-wal").stat().st_size
        async with database.engine.connect() as connection:
            rows = await connection.scalar(text("SELECT count(*) FROM t"))
    finally:
        await database.dispose()
    assert rows == 1_000
    assert log_size < 4_000_000, f"the log grew to {log_size} bytes"


async def test_timestamps_come_back_timezone_aware_in_utc(runtime: Runtime) -> None:
    async with runtime.uow() as uow:
        record_event(uow, Ticked(subject="subject"))
        await uow.commit()
    async with runtime.uow(read_only=True) as uow:
        (event,) = await read_events(uow.session)
    assert event.created_at.tzinfo is not None
    assert event.created_at.utcoffset() == UTC.utcoffset(None)
    assert abs((datetime.now(UTC) - event.created_at).total_seconds()) < 60


def test_an_unsupported_database_driver_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="ORCHESTRATE_DATABASE_URL"):
        create_database("mysql://root@localhost/orchestrate")


async def test_callbacks_before_commit_run_in_order_and_last_ones_after_all_others(
    runtime: Runtime,
) -> None:
    ran: list[str] = []

    def note(name: str) -> Callable[[], Awaitable[None]]:
        async def callback() -> None:
            ran.append(name)
            if name == "first":  # one added while committing still runs before the last
                uow.before_commit(note("added by first"))

        return callback

    async with runtime.uow() as uow:
        uow.before_commit(note("shared totals"), last=True)
        uow.before_commit(note("first"))
        uow.before_commit(note("second"))
        await uow.commit()
    assert ran == ["first", "second", "added by first", "shared totals"]

    ran.clear()
    async with runtime.uow() as uow:  # a rollback forgets them all
        uow.before_commit(note("never"), last=True)
        uow.before_commit(note("never either"))
        await uow.rollback()
    async with runtime.uow() as uow:
        await uow.commit()
    assert ran == []


async def test_a_postgresql_connection_dropped_while_idle_is_replaced_before_use() -> None:
    """The server closed a pooled connection (a restart, an idle timeout): the next
    transaction gets a live one instead of failing, as with SQLAlchemy's pre-ping."""
    server = require_postgres()
    database = create_database(server, pool_size=1, ping_after_idle=0.0)
    try:
        async with database.engine.connect() as connection:
            first_pid = await connection.scalar(text("SELECT pg_backend_pid()"))
        async with database.engine.connect() as connection:
            assert await connection.scalar(text("SELECT pg_backend_pid()")) == first_pid
        killer = create_database(server, pool_size=1)
        try:
            async with killer.engine.connect() as connection:
                killed = await connection.scalar(
                    text("SELECT pg_terminate_backend(:pid)"), {"pid": first_pid}
                )
        finally:
            await killer.dispose()
        assert killed is True
        async with database.engine.connect() as connection:
            second_pid = await connection.scalar(text("SELECT pg_backend_pid()"))
    finally:
        await database.dispose()
    assert second_pid != first_pid


async def test_a_read_only_unit_of_work_on_postgresql_opens_no_transaction() -> None:
    """Each of its statements is its own transaction (READ COMMITTED gives each its own
    snapshot anyway), so no BEGIN and ROLLBACK round trips; a writing one still has one."""
    database = create_database(require_postgres())
    try:
        started = text("SELECT transaction_timestamp()")  # now(): when its transaction began
        async with UnitOfWork(database, read_only=True) as reader:
            first = await reader.session.scalar(started)
            await reader.session.execute(text("SELECT pg_sleep(0.01)"))
            assert await reader.session.scalar(started) != first
        async with UnitOfWork(database) as writer:
            first = await writer.session.scalar(started)
            await writer.session.execute(text("SELECT pg_sleep(0.01)"))
            assert await writer.session.scalar(started) == first
    finally:
        await database.dispose()


def test_postgresql_keeps_its_pool_of_connections_open_without_overflow() -> None:
    """Connections opened for a burst and closed after it would each connect and
    prepare every statement again at the next burst."""
    database = create_database(
        "postgresql+asyncpg://nobody@127.0.0.1:1/none", pool_size=7, ping_after_idle=0.0
    )
    pool = database.engine.sync_engine.pool
    assert pool.size() == 7  # type: ignore[attr-defined]
    assert pool._max_overflow == 0  # type: ignore[attr-defined]
