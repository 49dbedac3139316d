"""The database layer: SQLite connection settings and timezone-aware timestamps."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from orchestrate.core.db import create_database
from orchestrate.core.errors import ConfigurationError
from orchestrate.core.events import read_events, record_event
from orchestrate.core.runtime import Runtime
from tests.event_types import Ticked


async def test_sqlite_connections_use_wal_a_busy_timeout_and_foreign_keys(tmp_path: Path) -> None:
    database = create_database(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    try:
        async with database.engine.connect() as connection:
            journal = await connection.scalar(text("PRAGMA journal_mode"))
            timeout = await connection.scalar(text("PRAGMA busy_timeout"))
            foreign_keys = await connection.scalar(text("PRAGMA foreign_keys"))
    finally:
        await database.dispose()
    assert journal == "wal"
    assert timeout == 30_000
    assert foreign_keys == 1


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
