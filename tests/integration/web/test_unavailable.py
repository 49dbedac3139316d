"""A full disk or a locked database is a 503 with Retry-After: the request was fine."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event, make_url

from orchestrate.app.http import create_app
from orchestrate.auth.models import Role
from orchestrate.core.db import create_database
from orchestrate.core.runtime import Runtime
from orchestrate.core.settings import Settings
from tests.support import bearer, issue_token

sqlite_only = pytest.mark.parametrize("engine_name", ["sqlite"], indirect=True)


def _database_file(settings: Settings) -> Path:
    return Path(str(make_url(settings.database_url_value).database))


@pytest.fixture
async def runtime_with(settings: Settings) -> AsyncIterator[tuple[Runtime, list[str]]]:
    """A runtime whose connections also run the test's pragmas (appended to the list)."""
    pragmas: list[str] = []
    runtime = Runtime(settings=settings, database=create_database(settings.database_url_value))

    @event.listens_for(runtime.database.engine.sync_engine, "connect")
    def _apply(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        for pragma in pragmas:
            cursor.execute(pragma)
        cursor.close()

    try:
        yield runtime, pragmas
    finally:
        await runtime.close()


async def _post_story(runtime: Runtime, token: str, description: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=create_app(runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.post(
            "/api/stories",
            json={"title": "Fill the disk", "description": description},
            headers=bearer(token),
        )


@sqlite_only
async def test_a_full_disk_is_a_503_with_retry_after_and_nothing_is_stored(
    runtime_with: tuple[Runtime, list[str]], settings: Settings
) -> None:
    runtime, pragmas = runtime_with
    token = await issue_token(runtime, "admin", Role.ADMIN)
    await runtime.database.engine.dispose()
    pages = sqlite3.connect(_database_file(settings)).execute("PRAGMA page_count").fetchone()[0]
    pragmas.append(f"PRAGMA max_page_count={pages}")  # the database may not grow a page

    response = await _post_story(runtime, token, "x" * 500_000)

    assert response.status_code == 503
    assert response.headers["retry-after"] == "60"
    assert response.headers["content-type"] == "application/problem+json"
    assert "disk is full" in response.json()["detail"]


@sqlite_only
async def test_a_database_locked_past_the_busy_timeout_is_a_503_with_retry_after(
    runtime_with: tuple[Runtime, list[str]],
) -> None:
    runtime, pragmas = runtime_with
    token = await issue_token(runtime, "admin", Role.ADMIN)
    await runtime.database.engine.dispose()
    pragmas.append("PRAGMA busy_timeout=100")  # not 30 s: the test need not wait that long

    with _Locked(runtime):
        response = await _post_story(runtime, token, "a story")

    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"


class _Locked:
    """Another process's write lock on the runtime's database while inside."""

    def __init__(self, runtime: Runtime) -> None:
        url = make_url(runtime.settings.database_url_value)
        self._connection = sqlite3.connect(str(url.database), isolation_level=None)

    def __enter__(self) -> None:
        self._connection.execute("BEGIN EXCLUSIVE")

    def __exit__(self, *_: object) -> None:
        self._connection.execute("ROLLBACK")
        self._connection.close()


async def test_a_postgresql_server_that_refuses_connections_is_a_503_with_retry_after(
    tmp_path: Path,
) -> None:
    settings = Settings(
        home=tmp_path / "home",
        database_url="postgresql+asyncpg://orchestrate@127.0.0.1:1/orchestrate",
    )
    runtime = Runtime(settings=settings, database=create_database(settings.database_url_value))
    try:
        response = await _post_story(runtime, "orc_anything", "a story")
    finally:
        await runtime.close()

    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
