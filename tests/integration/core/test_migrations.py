"""Migrations: a single head, upgrade and downgrade on both engines, no drift from the models."""

from __future__ import annotations

import asyncio

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from orchestrate.core.db import create_database
from orchestrate.core.migrate import (
    alembic_config,
    downgrade_to,
    migration_status,
    upgrade_to_head,
)
from orchestrate.migrations.metadata import metadata


def table_names(url: str) -> set[str]:
    async def read() -> set[str]:
        database = create_database(url)
        try:
            async with database.engine.connect() as connection:
                names = await connection.run_sync(lambda c: inspect(c).get_table_names())
                return set(names)
        finally:
            await database.dispose()

    return asyncio.run(read())


def drift(url: str) -> list[object]:
    async def compare() -> list[object]:
        database = create_database(url)
        try:
            async with database.engine.connect() as connection:
                return await connection.run_sync(_diff)
        finally:
            await database.dispose()

    return asyncio.run(compare())


def _diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


def test_the_migration_history_has_a_single_head() -> None:
    script = ScriptDirectory.from_config(alembic_config("sqlite+aiosqlite://"))
    assert len(script.get_heads()) == 1


def test_upgrade_to_head_creates_every_table_and_downgrade_removes_them(
    empty_db_url: str,
) -> None:
    upgrade_to_head(empty_db_url)
    assert set(metadata.tables) <= table_names(empty_db_url)
    assert migration_status(empty_db_url).is_up_to_date

    downgrade_to(empty_db_url, "base")
    assert table_names(empty_db_url) - {"alembic_version"} == set()
    assert migration_status(empty_db_url).pending

    upgrade_to_head(empty_db_url)
    assert migration_status(empty_db_url).is_up_to_date


def test_the_models_and_the_migrations_describe_the_same_schema(empty_db_url: str) -> None:
    upgrade_to_head(empty_db_url)
    assert drift(empty_db_url) == []


def test_status_of_an_empty_database_lists_every_migration_as_pending(
    empty_db_url: str,
) -> None:
    status = migration_status(empty_db_url)
    assert status.current == ()
    assert not status.is_up_to_date
    assert status.pending[-1] == status.heads[0]
