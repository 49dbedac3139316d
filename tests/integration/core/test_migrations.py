"""Migrations: a single head, upgrade and downgrade on both engines, no drift from the models."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from orchestrate.core.db import create_database
from orchestrate.core.migrate import (
    alembic_config,
    downgrade_to,
    migration_status,
    upgrade_to_head,
)
from orchestrate.migrations.metadata import metadata

T = TypeVar("T")


def run_sync(url: str, work: Callable[[Connection], T]) -> T:
    """Run ``work`` on a synchronous connection to ``url`` (committed if it returns)."""

    async def main() -> T:
        database = create_database(url)
        try:
            async with database.engine.begin() as connection:
                return await connection.run_sync(work)
        finally:
            await database.dispose()

    return asyncio.run(main())


def table_names(url: str) -> set[str]:
    return set(run_sync(url, lambda c: inspect(c).get_table_names()))


def drift(url: str) -> list[object]:
    return run_sync(url, _diff)


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


def test_0006_gives_issue_stories_made_before_it_their_origin_key_and_keeps_labels(
    empty_db_url: str,
) -> None:
    command.upgrade(alembic_config(empty_db_url), "0005")
    stories = [  # (id, created_at, label): two stories carry the same issue's label
        ("story_b", "2026-01-02 00:00:00", "github-issue:7"),
        ("story_a", "2026-01-01 00:00:00", "github-issue:7"),
        ("story_c", "2026-01-03 00:00:00", "github-issue:8"),
        ("story_d", "2026-01-04 00:00:00", "backend"),
    ]

    def seed(connection: Connection) -> None:
        for story_id, created, label in stories:
            connection.execute(
                text(
                    "INSERT INTO stories (id, title, description, acceptance_criteria, status, "
                    "priority, created_at, updated_at) VALUES (:id, 't', '', '[]', 'backlog', "
                    "'medium', :at, :at)"
                ),
                {"id": story_id, "at": datetime.fromisoformat(created).replace(tzinfo=UTC)},
            )
            connection.execute(
                text("INSERT INTO story_labels (story_id, label) VALUES (:id, :label)"),
                {"id": story_id, "label": label},
            )

    def origin_keys(connection: Connection) -> dict[str, str | None]:
        rows = connection.execute(text("SELECT id, origin_key FROM stories")).all()
        return {row[0]: row[1] for row in rows}

    run_sync(empty_db_url, seed)
    upgrade_to_head(empty_db_url)

    assert run_sync(empty_db_url, origin_keys) == {
        "story_a": "github-issue:7",  # the oldest of the two
        "story_b": None,
        "story_c": "github-issue:8",
        "story_d": None,
    }
    # Altering stories rebuilds the table on SQLite; its labels must survive that.
    labels = run_sync(empty_db_url, lambda c: c.execute(text("SELECT * FROM story_labels")).all())
    assert len(labels) == len(stories)


def test_0020_adds_the_metric_counters_and_its_downgrade_drops_only_them(
    empty_db_url: str,
) -> None:
    upgrade_to_head(empty_db_url)
    at_head = table_names(empty_db_url)
    downgrade_to(empty_db_url, "0020")  # later revisions first, however re-chained
    before = table_names(empty_db_url)

    downgrade_to(empty_db_url, "0020-1")  # the revision before it
    after_downgrade = table_names(empty_db_url)
    upgrade_to_head(empty_db_url)

    assert "metric_counters" in before
    assert before - after_downgrade == {"metric_counters"}
    assert table_names(empty_db_url) == at_head
    assert drift(empty_db_url) == []


def test_0022_adds_alerting_and_its_downgrade_drops_only_it(empty_db_url: str) -> None:
    upgrade_to_head(empty_db_url)
    at_head = table_names(empty_db_url)
    downgrade_to(empty_db_url, "0022")
    before = table_names(empty_db_url)

    downgrade_to(empty_db_url, "0022-1")
    after_downgrade = table_names(empty_db_url)
    upgrade_to_head(empty_db_url)

    alerting = {"alerts", "alert_silences", "alert_groups", "alert_rule_sources"}
    assert before - after_downgrade == alerting
    assert table_names(empty_db_url) == at_head
    assert drift(empty_db_url) == []
