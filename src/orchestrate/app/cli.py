"""The ``orchestrate`` command: every command of the platform and its capabilities.

Commands are listed from ``capabilities`` by name and help line and imported only when
invoked (``cli.root``), so ``orchestrate --version`` and ``--help`` import no
capability and touch no database. Every command runs with the capabilities' wiring
(``CliWiring``): the hooks a process runs once its runtime is open, and every job
handler for work run in this process (``--wait``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import typer

from orchestrate import __version__
from orchestrate.app import capabilities
from orchestrate.cli.root import LazyCommand, RootGroup
from orchestrate.cli.wiring import CliWiring

if TYPE_CHECKING:
    from orchestrate.cli.wiring import RuntimeHook
    from orchestrate.core.jobs import JobRegistry
    from orchestrate.core.retention import RetentionPlan
    from orchestrate.core.runtime import Runtime

PLATFORM_COMMANDS = (
    LazyCommand(
        "serve",
        "orchestrate.app.serve:serve",
        "Start the API, the webhook receiver and a worker in one process.",
    ),
    LazyCommand(
        "worker",
        "orchestrate.app.serve:worker",
        "Run only the worker loops (more machines against one PostgreSQL database).",
    ),
    LazyCommand("config", "orchestrate.cli.config:app", "Inspect configuration."),
    LazyCommand(
        "db", "orchestrate.cli.db:app", "Manage the database: schema migrations and pruning."
    ),
)
"""The platform's own commands, listed before the capabilities'."""


def _hook(target: str) -> RuntimeHook:
    async def run(runtime: Runtime) -> None:
        await cast("RuntimeHook", capabilities.resolve(target))(runtime)

    return run


def _job_registry(runtime: Runtime) -> JobRegistry:
    from orchestrate.app.worker import build_registry

    return build_registry(runtime)


def _retention_plan() -> RetentionPlan:
    from orchestrate.app.retention import retention_plan

    return retention_plan()


async def _audit(runtime: Runtime, action: str, subject: str, details: dict[str, Any]) -> None:
    from orchestrate.auth import service as auth

    async with runtime.uow() as uow:
        await auth.record_audit(uow, auth.Actor.local_cli(), action, subject, details)
        await uow.commit()


class _Orchestrate(RootGroup):
    lazy_commands = (*PLATFORM_COMMANDS, *capabilities.commands())

    def make_wiring(self) -> CliWiring:
        hooks = [_hook(t) for c in capabilities.CAPABILITIES for t in c.on_open]
        return CliWiring(
            on_open=tuple(hooks),
            job_registry=_job_registry,
            retention=_retention_plan,
            audit=_audit,
        )


app = typer.Typer(
    cls=_Orchestrate,
    name="orchestrate",
    help="Put AI agents to work on software delivery.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        print(f"orchestrate {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """Orchestrate: a self-hosted platform for AI agents in software delivery."""


def main() -> None:
    """Entry point of the ``orchestrate`` console script."""
    app()
