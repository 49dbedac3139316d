"""Schema migrations, run programmatically with the Alembic scripts shipped in the package.

``serve`` and ``worker`` call ``upgrade_to_head`` on start; ``orchestrate db upgrade``
and ``db status`` expose the same functions. Alembic's scripts are located by package
path, never by an ``alembic.ini`` in the working directory.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from importlib import resources

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from orchestrate.core.db import create_database


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(resources.files("orchestrate") / "migrations"))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


@dataclass(frozen=True)
class MigrationStatus:
    current: tuple[str, ...]
    heads: tuple[str, ...]
    pending: tuple[str, ...]

    @property
    def is_up_to_date(self) -> bool:
        return not self.pending and set(self.current) == set(self.heads)


def upgrade_to_head(url: str) -> None:
    """Apply every pending migration (blocking; run it off the event loop)."""
    command.upgrade(alembic_config(url), "head")


def downgrade_to(url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)


async def upgrade_to_head_async(url: str) -> None:
    # Alembic's env.py starts its own event loop, so it runs in a worker thread.
    await asyncio.to_thread(upgrade_to_head, url)


def migration_status(url: str) -> MigrationStatus:
    """Which revisions the database is at, the heads, and what upgrading would apply."""
    return asyncio.run(migration_status_async(url))


async def migration_status_async(url: str) -> MigrationStatus:
    script = ScriptDirectory.from_config(alembic_config(url))
    database = create_database(url)
    try:
        async with database.engine.connect() as connection:
            current = await connection.run_sync(_current_heads)
    finally:
        await database.dispose()
    heads = tuple(script.get_heads())
    pending: list[str] = []
    if set(current) != set(heads):
        for revision in script.iterate_revisions(heads, current or "base"):
            if revision.revision not in current:
                pending.append(revision.revision)
    return MigrationStatus(current=current, heads=heads, pending=tuple(reversed(pending)))


def _current_heads(connection: Connection) -> tuple[str, ...]:
    return tuple(MigrationContext.configure(connection).get_current_heads())
