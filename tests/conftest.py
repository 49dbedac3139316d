"""Fixtures shared by the whole suite.

Every database test runs twice: on a SQLite file and on PostgreSQL. The PostgreSQL
variant needs ``ORCHESTRATE_TEST_POSTGRES_URL`` (any database on the server; the
suite creates its own databases next to it) and is skipped with that reason otherwise.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import hypothesis
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.engine import make_url

from orchestrate.auth.models import Actor, Role
from orchestrate.core.clock import FrozenClock, SystemClock
from orchestrate.core.db import create_database
from orchestrate.core.migrate import upgrade_to_head
from orchestrate.core.runtime import Runtime
from orchestrate.core.settings import Settings
from orchestrate.migrations.metadata import metadata
from orchestrate.triggers.receiver import install as install_delivery_inbox
from orchestrate.web.streams import install_stream_slots
from tests.support import issue_token

# Hypothesis' default 200 ms deadline per example is a wall-clock assertion: on a busy
# machine (xdist workers, CI neighbours) a correct example fails as "flaky". Timings
# belong in bench/; the property tests check behaviour only.
hypothesis.settings.register_profile("orchestrate", deadline=None)
hypothesis.settings.load_profile("orchestrate")

POSTGRES_ENV = "ORCHESTRATE_TEST_POSTGRES_URL"
ENGINES = ["sqlite", "postgresql"]


def postgres_server_url() -> str | None:
    raw = os.environ.get(POSTGRES_ENV)
    if not raw:
        return None
    url = make_url(raw)
    if url.drivername in ("postgresql", "postgres", "postgresql+psycopg2"):
        url = url.set(drivername="postgresql+asyncpg")
    return url.render_as_string(hide_password=False)


def require_postgres() -> str:
    url = postgres_server_url()
    if url is None:
        pytest.skip(f"PostgreSQL variant skipped: set {POSTGRES_ENV} to run it")
    return url


async def _admin_execute(server_url: str, statement: str) -> None:
    import asyncpg

    dsn = make_url(server_url).set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def create_postgres_database(server_url: str) -> str:
    """A new empty database on the test server; returns its URL."""
    name = f"orch_test_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin_execute(server_url, f'CREATE DATABASE "{name}"'))
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def drop_postgres_database(server_url: str, database_url: str) -> None:
    name = make_url(database_url).database
    asyncio.run(_admin_execute(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test instead of migrating again."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    upgrade_to_head(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def _postgres_migrated() -> Iterator[str]:
    server = require_postgres()
    url = create_postgres_database(server)
    try:
        upgrade_to_head(url)
        yield url
    finally:
        drop_postgres_database(server, url)


# Every sequence back to its start, as a fresh database would have it.
_RESTART_SEQUENCES = text(
    "SELECT setval(c.oid, 1, false) FROM pg_class c "
    "JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE c.relkind = 'S' AND n.nspname = current_schema()"
)


async def _empty_all(url: str) -> None:
    """Every table emptied and every id sequence restarted, in one transaction.

    DELETE rather than TRUNCATE: a test leaves a handful of rows, and TRUNCATE gives each
    of the 19 tables new files (90 ms a test against 20 ms), which on 2,700 PostgreSQL
    tests was the largest part of the suite's setup time.
    """
    database = create_database(url)
    try:
        async with database.engine.begin() as connection:
            for table in reversed(metadata.sorted_tables):  # children before parents
                await connection.execute(table.delete())
            await connection.execute(_RESTART_SEQUENCES)
    finally:
        await database.dispose()


@pytest.fixture(params=ENGINES)
def engine_name(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    if name == "postgresql":
        require_postgres()
    return name


@pytest.fixture
def db_url(engine_name: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database of the parametrised engine, private to this test."""
    if engine_name == "sqlite":
        template: Path = request.getfixturevalue("_sqlite_template")
        target = tmp_path / "orchestrate.db"
        shutil.copyfile(template, target)
        return f"sqlite+aiosqlite:///{target}"
    url: str = request.getfixturevalue("_postgres_migrated")
    asyncio.run(_empty_all(url))
    return url


@pytest.fixture
def empty_db_url(engine_name: str, tmp_path: Path) -> Iterator[str]:
    """A database with no schema at all, for migration tests."""
    if engine_name == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
        return
    server = require_postgres()
    url = create_postgres_database(server)
    try:
        yield url
    finally:
        drop_postgres_database(server, url)


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home", database_url=db_url)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
async def runtime(settings: Settings) -> AsyncIterator[Runtime]:
    """A runtime on the test database with the real clock."""
    rt = Runtime(settings=settings, database=create_database(settings.database_url_value))
    rt.clock = SystemClock()
    try:
        yield rt
    finally:
        await rt.close()


@pytest.fixture
async def frozen_runtime(settings: Settings, clock: FrozenClock) -> AsyncIterator[Runtime]:
    """A runtime whose clock only moves when the test advances it."""
    rt = Runtime(settings=settings, database=create_database(settings.database_url_value))
    rt.clock = clock
    try:
        yield rt
    finally:
        await rt.close()


@pytest.fixture
def admin() -> Actor:
    return Actor(name="test:admin", role=Role.ADMIN, source="127.0.0.1")


_APPS: dict[str, FastAPI] = {}


def app_on(runtime: Runtime) -> FastAPI:
    """The real app, serving ``runtime``; built once per worker for each set of settings.

    Building the app (FastAPI analysing 65 routes) takes ~100 ms, more than most API tests
    themselves. Tests differ only in their home and database, which the app reads from
    its runtime on every request, so an app built for the same other settings is
    re-pointed at this test's runtime, with fresh per-app state: the open-stream counts,
    the webhook inbox and the shutdown event (everything ``create_app`` puts in
    ``app.state``).
    """
    from orchestrate.app.http import create_app

    key = runtime.settings.model_dump_json(exclude={"home", "database_url"})
    app = _APPS.get(key)
    if app is None:
        app = _APPS[key] = create_app(runtime)
        return app
    app.state.runtime = runtime
    install_stream_slots(app, runtime.settings.max_streams_per_token)
    install_delivery_inbox(app, runtime)  # its flusher task belongs to one event loop
    app.state.shutdown = None  # web.lifecycle creates a fresh event on first use
    return app


@pytest.fixture
async def api(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for the real app (in process, no network), without credentials."""
    transport = httpx.ASGITransport(app=app_on(runtime), client=("203.0.113.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://orchestrate.test") as client:
        yield client


@pytest.fixture
async def tokens(runtime: Runtime) -> dict[Role, str]:
    """One token per role, keyed by role."""
    return {role: await issue_token(runtime, f"test-{role.value}", role) for role in Role}
