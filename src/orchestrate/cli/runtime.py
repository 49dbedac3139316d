"""How CLI commands get settings and a runtime, and run their async service calls."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from orchestrate.cli.output import say
from orchestrate.core.errors import ConfigurationError
from orchestrate.core.logging import configure_logging
from orchestrate.core.migrate import migration_status_async, upgrade_to_head_async
from orchestrate.core.runtime import Runtime
from orchestrate.core.settings import Settings, load_settings
from orchestrate.secrets import service as secrets

T = TypeVar("T")


def cli_settings() -> Settings:
    """Settings for a CLI command; an invalid setting raises ConfigurationError (exit 2)."""
    settings = load_settings()
    configure_logging("warning" if settings.log_level == "info" else settings.log_level)
    return settings


def run_with_runtime(work: Callable[[Runtime], Awaitable[T]]) -> T:
    """Open a runtime on the configured database, run ``work``, close it again."""
    settings = cli_settings()

    async def main() -> T:
        runtime = Runtime.open(settings)
        try:
            await ensure_migrated(runtime)
            # Work run inline (``--wait``) logs and records events: mask the store's values.
            # A bad key must not lock the operator out of every command (``secret
            # delete``, ``config show``): nothing can be decrypted, so nothing can leak.
            try:
                await secrets.refresh_masker(runtime.uow(read_only=True), settings)
            except ConfigurationError as error:
                say(f"Warning: stored secrets cannot be read: {error}")
            return await work(runtime)
        finally:
            await runtime.close()

    return asyncio.run(main())


async def ensure_migrated(runtime: Runtime) -> None:
    """Bring the schema up to date, as ``serve`` does, so every command works on a fresh home."""
    url = runtime.settings.database_url_value
    status = await migration_status_async(url)
    if not status.is_up_to_date:
        await upgrade_to_head_async(url)
