"""How CLI commands get settings and a runtime, and run their async service calls.

What a command needs from the capabilities around it — the hooks every process runs
once its runtime is open, the job handlers that ``--wait`` runs in this process — comes
from the composition root through ``cli.wiring``; this toolkit imports no capability.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

from orchestrate.cli.output import say
from orchestrate.cli.wiring import RuntimeHook, current_wiring
from orchestrate.core.errors import ConfigurationError
from orchestrate.core.logging import configure_logging
from orchestrate.core.settings import Settings, load_settings

if TYPE_CHECKING:  # imported when used: a command that opens no runtime never loads them
    from orchestrate.core.jobs import JobRegistry
    from orchestrate.core.runtime import Runtime

T = TypeVar("T")


def job_registry(runtime: Runtime) -> JobRegistry:
    """Every job handler the application wires, to run queued work in this process."""
    return current_wiring().job_registry(runtime)


def cli_settings() -> Settings:
    """Settings for a CLI command; an invalid setting raises ConfigurationError (exit 2)."""
    settings = load_settings()
    configure_logging("warning" if settings.log_level == "info" else settings.log_level)
    return settings


def run_with_runtime(work: Callable[[Runtime], Awaitable[T]]) -> T:
    """Open a runtime on the configured database, run ``work``, close it again."""
    from orchestrate.core.runtime import Runtime
    from orchestrate.core.tracing import configure_tracing

    settings = cli_settings()
    configure_tracing()  # a command's inline work (``--wait``) is traced like a worker's
    wiring = current_wiring()

    async def main() -> T:
        runtime = Runtime.open(settings)
        try:
            await ensure_migrated(runtime)
            await _run_open_hooks(runtime, wiring.on_open)
            return await work(runtime)
        finally:
            await runtime.close()

    return asyncio.run(main())


async def _run_open_hooks(runtime: Runtime, hooks: Sequence[RuntimeHook]) -> None:
    # A bad setting one hook needs (a lost secret key) must not lock the operator out of
    # every command (``secret delete``, ``config show``): the hook's work is skipped with
    # a warning. For the masker that is safe: nothing can be decrypted, so nothing leaks.
    for hook in hooks:
        try:
            await hook(runtime)
        except ConfigurationError as error:
            say(f"Warning: {error}")


async def ensure_migrated(runtime: Runtime) -> None:
    """Bring the schema up to date, as ``serve`` does, so every command works on a fresh home."""
    from orchestrate.core.migrate import migration_status_async, upgrade_to_head_async

    url = runtime.settings.database_url_value
    status = await migration_status_async(url)
    if not status.is_up_to_date:
        await upgrade_to_head_async(url)
