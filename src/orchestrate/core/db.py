"""Database engine, declarative base and the column types shared by every table.

One code path serves SQLite and PostgreSQL. On SQLite every connection gets WAL, a busy
timeout and foreign keys, and transactions start with ``BEGIN IMMEDIATE`` unless a
session asks for a read-only one: a deferred transaction that reads and then writes
fails at once with "database is locked" when another process committed in between,
instead of waiting for the busy timeout.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, DateTime, MetaData, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Connection, Dialect, make_url

# Re-exported: a service that lets a unique index decide (one story per origin key)
# catches the refusal without importing SQLAlchemy, which only tables and stores do.
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.exc import IntegrityError as IntegrityError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.types import TypeDecorator

from orchestrate.core._sqlite import connector as sqlite_connector
from orchestrate.core.clock import ensure_utc
from orchestrate.core.errors import ConfigurationError

SQLITE_BUSY_TIMEOUT_MS = 30_000
PING_AFTER_IDLE_S = 5.0
"""A PostgreSQL connection idle in the pool this long is pinged before its next use."""
SQLITE_BEGIN_OPTION = "orchestrate_sqlite_begin"

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of every table; one metadata for one Alembic history."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC timestamp on both engines (SQLite has no time zones of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; use the injected clock")
        aware = ensure_utc(value)
        return aware.replace(tzinfo=None) if dialect.name == "sqlite" else aware

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else ensure_utc(value)


JSONDocument = JSON().with_variant(JSONB(), "postgresql")
"""A JSON column: JSONB on PostgreSQL, JSON text on SQLite."""


class WriteGate:
    """One writer at a time per process on SQLite: urgent writers first, else in arrival order.

    SQLite lets one connection write at a time anyway; without this, concurrent
    tasks of one process queue inside SQLite's busy handler, which sleeps in growing
    steps and starves some of them for seconds (bench/agent_loop.py measured a p99
    wait of 1.8 s with 50 agents). The gate hands the turn over at once, and the busy
    timeout is left for other processes.

    An urgent writer — an HTTP request someone is waiting on, such as a webhook
    delivery — goes before the background writers already waiting (job runners,
    agents), so a busy worker in the same process does not hold up answers. Each
    kind keeps its own arrival order, and the turn passes straight to the next
    waiter, so no newcomer can jump in between. After ``URGENT_RUN`` urgent turns in
    a row, a waiting background writer gets one, so a stream of requests cannot
    starve the worker (its lease renewals write too).
    """

    URGENT_RUN = 8

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._reset()

    def _reset(self) -> None:
        self._urgent_run = 0
        self._held = False
        self._holder: asyncio.Task[object] | None = None
        self._urgent: deque[asyncio.Future[None]] = deque()
        self._background: deque[asyncio.Future[None]] = deque()

    async def acquire(self, *, urgent: bool = False) -> None:
        task = asyncio.current_task()
        if task is not None and task is self._holder:
            raise RuntimeError(
                "nested write transaction on SQLite: finish the open unit of work first"
            )
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # a gate serves one event loop (tests open several)
            self._reset()
            self._loop = loop
        if not self._held and not self._urgent and not self._background:
            self._held, self._holder = True, task
            return
        turn: asyncio.Future[None] = loop.create_future()
        queue = self._urgent if urgent else self._background
        queue.append(turn)
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self._pass_on()  # the turn came with the cancellation: give it on
            elif turn in queue:  # a release may have dropped it already
                queue.remove(turn)
            raise
        self._holder = task

    def release(self) -> None:
        self._holder = None
        self._pass_on()

    def _pass_on(self) -> None:
        background_due = self._urgent_run >= self.URGENT_RUN
        order = (
            (self._background, self._urgent) if background_due else (self._urgent, self._background)
        )
        for queue in order:
            while queue:
                turn = queue.popleft()
                if not turn.done():
                    turn.set_result(None)  # the gate stays held, by that waiter now
                    self._urgent_run = self._urgent_run + 1 if queue is self._urgent else 0
                    return
        self._held = False
        self._urgent_run = 0


@dataclass(frozen=True)
class Database:
    """An engine plus the session factory built on it."""

    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    write_gate: WriteGate | None = None

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    async def dispose(self) -> None:
        await self.engine.dispose()


def create_database(
    url: str,
    *,
    echo: bool = False,
    pool_size: int = 20,
    foreign_keys: bool = True,
    ping_after_idle: float = PING_AFTER_IDLE_S,
) -> Database:
    """Open a database from a SQLAlchemy URL (``sqlite+aiosqlite`` or ``postgresql+asyncpg``).

    ``foreign_keys=False`` leaves SQLite's foreign-key enforcement off, for migrations
    only: SQLite alters a table by copying it and dropping the old one, and with
    enforcement on, dropping it would cascade-delete the rows that refer to it.
    ``ping_after_idle``: a PostgreSQL connection idle in the pool this many seconds is
    checked before its next use (``_ping_connections_left_idle``).

    ``pool_size``: PostgreSQL connections kept open, and the most used at once (no
    overflow). A connection opened for a burst and closed after it costs its connect
    and a first ``PREPARE`` of every statement it runs, again at the next burst: with
    10 kept and 10 more for bursts, an agent tree opened ~30 connections and spent
    ~10 % of the worker's CPU on that (``bench/agent_tree.py``). Kept open, each
    connection prepares a statement once in its life.
    """
    parsed = _parse_url(url)
    options: dict[str, Any] = {"echo": echo}
    inline = False
    if parsed.startswith("sqlite"):
        sqlite_url = make_url(url)
        database_path = sqlite_url.database
        if database_path and database_path != ":memory:":
            Path(database_path).parent.mkdir(parents=True, exist_ok=True)
        # A file named by a plain URL gets connections that run quick statements on the
        # event loop (``_sqlite.py``); other forms (memory, URI options) keep aiosqlite's.
        inline = bool(database_path) and database_path != ":memory:" and not sqlite_url.query
        if inline:
            assert database_path is not None
            options["async_creator"] = sqlite_connector(
                database_path, SQLITE_BUSY_TIMEOUT_MS / 1000
            )
        else:
            options["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
        # Every unit of work ends its transaction itself (commit, or rollback on close),
        # so the pool's own rollback when a connection comes back would be a second one:
        # with aiosqlite each is a trip to the connection's thread.
        options["pool_reset_on_return"] = None
    else:
        options["pool_size"] = pool_size
        options["max_overflow"] = 0
    engine = create_async_engine(url, **options)
    if parsed.startswith("sqlite"):
        _configure_sqlite(engine, foreign_keys=foreign_keys, inline=inline)
    else:
        _ping_connections_left_idle(engine, ping_after_idle)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    gate = WriteGate() if parsed.startswith("sqlite") else None
    return Database(engine=engine, sessions=sessions, write_gate=gate)


def _parse_url(url: str) -> str:
    try:
        driver = make_url(url).drivername
    except Exception as error:  # sqlalchemy raises ArgumentError with a terse message
        raise ConfigurationError(
            f"Invalid setting ORCHESTRATE_DATABASE_URL: cannot parse {url!r} ({error})"
        ) from None
    if driver not in {"sqlite+aiosqlite", "postgresql+asyncpg"}:
        raise ConfigurationError(
            "Invalid setting ORCHESTRATE_DATABASE_URL: use sqlite+aiosqlite:///path or "
            f"postgresql+asyncpg://user@host/db (got driver {driver!r})"
        )
    return driver


def _ping_connections_left_idle(engine: AsyncEngine, idle_seconds: float) -> None:
    """Check a pooled connection is alive before use, when it has sat idle a while.

    SQLAlchemy's ``pool_pre_ping`` pings at every checkout, and on asyncpg a ping is
    three round trips (BEGIN, ``;``, ROLLBACK): a busy worker checking out a connection
    per transaction paid for them on every one. A connection back in the pool a moment
    ago cannot have been dropped by the server's restart or an idle timeout unnoticed
    for long, so only one idle for ``idle_seconds`` is pinged; a dead one is replaced
    by the pool (``DisconnectionError``), as pre-ping does. A connection that breaks
    between its ping and its use fails that transaction, which is retried as any failed
    one is; SQLAlchemy then invalidates it.
    """

    @event.listens_for(engine.sync_engine, "checkin")
    def _checked_in(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info["checked_in_at"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
        checked_in_at = record.info.get("checked_in_at")
        if checked_in_at is None or time.monotonic() - checked_in_at < idle_seconds:
            return
        try:
            dbapi_connection.ping()
        except Exception as error:
            raise DisconnectionError(f"idle connection no longer answers: {error}") from error


def _configure_sqlite(engine: AsyncEngine, *, foreign_keys: bool, inline: bool) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # Take BEGIN away from the driver so we can choose IMMEDIATE or DEFERRED.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        if not inline:  # an inline connection waits for locks only on its thread
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        mode = connection.get_execution_options().get(SQLITE_BEGIN_OPTION, "IMMEDIATE")
        connection.exec_driver_sql(f"BEGIN {mode}")


def read_only_options(dialect: str) -> dict[str, Any]:
    """Execution options for a session that only reads.

    SQLite: a deferred transaction (one snapshot for all the reads, no write lock).
    PostgreSQL: no transaction at all. At READ COMMITTED every statement takes its own
    snapshot inside a transaction too, so ``BEGIN`` and the ``ROLLBACK`` that ends it
    would only add two round trips to each read-only unit of work.
    """
    if dialect == "postgresql":
        return {"isolation_level": "AUTOCOMMIT"}
    return {SQLITE_BEGIN_OPTION: "DEFERRED"}


def redact_url(url: str) -> str:
    """The URL with any password replaced, for printing and logging: the one in the
    user info and any query parameter that carries one (``?password=``,
    ``sslpassword=``, a token), since drivers accept both forms."""
    try:
        parsed = make_url(url)
        query = {
            key: "***" if _is_secret_parameter(key) else value
            for key, value in parsed.query.items()
        }
        rendered = parsed.set(query=query).render_as_string(hide_password=True)
        return rendered.replace("=%2A%2A%2A", "=***")  # as the user-info password reads
    except Exception:
        return "<unparseable database URL>"


def _is_secret_parameter(name: str) -> bool:
    lowered = name.lower()
    return any(word in lowered for word in ("pass", "secret", "token", "credential"))
