"""The one list of capabilities, and what each plugs into the processes.

Adding a capability is its folder plus one entry in :data:`CAPABILITIES`. Everything
is named by import path (``package.module:attribute``) and imported only when a
process needs it: ``orchestrate --help`` lists the commands from the help lines stored
here, without importing a capability; ``serve`` imports the routers when it builds the
app; a worker imports the job registrations when it builds its registry.
``tests/unit/app`` resolves every path, so a rename that misses this list fails there.

This module is light on purpose (the root command imports it): the types it speaks of
are imported only for the type checker.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, TypeVar, cast

from orchestrate.cli.root import LazyCommand

if TYPE_CHECKING:
    import asyncio

    from fastapi import APIRouter, FastAPI

    from orchestrate.core.events import Consumer
    from orchestrate.core.jobs import JobRegistry
    from orchestrate.core.retention import Retention
    from orchestrate.core.runtime import Runtime

    JobRegistration = Callable[[JobRegistry, Runtime], None]
    WebInstaller = Callable[[FastAPI, Runtime], None]
    RuntimeHook = Callable[[Runtime], Awaitable[None]]
    BackgroundTask = Callable[[Runtime, asyncio.Event], Coroutine[Any, Any, None]]
    ConsumerFactory = Callable[[Runtime], Consumer]

T = TypeVar("T")


@dataclass(frozen=True)
class Capability:
    """One capability's entry points, each an import path; all optional."""

    name: str
    commands: tuple[LazyCommand, ...] = ()
    """CLI sub-apps (or single commands) under the root ``orchestrate`` command."""
    command_extensions: tuple[tuple[str, str], ...] = ()
    """``(group, target)``: a Typer app whose commands join another capability's
    command group (``("epic", "orchestrate.autonomy.cli:epic_run_app")``), so a
    capability of a higher layer extends a lower one's group without being imported by it."""
    routers: tuple[str, ...] = ()
    """``APIRouter``s mounted under ``/api``, behind the bearer token."""
    public_routers: tuple[str, ...] = ()
    """``APIRouter``s mounted at the root with their own authentication, or none."""
    web_setup: tuple[str, ...] = ()
    """``(app, runtime) -> None``: middleware, credentials and state the app needs."""
    jobs: tuple[str, ...] = ()
    """``(registry, runtime) -> None``: register the capability's job handlers."""
    on_open: tuple[str, ...] = ()
    """``async (runtime) -> None``: every process (serve, worker, a CLI command) once its
    runtime is open, before any work."""
    background: tuple[str, ...] = ()
    """``async (runtime, stop) -> None``: runs beside ``serve``'s and ``worker``'s loops
    until ``stop`` is set."""
    upkeep: tuple[str, ...] = ()
    """``async (runtime) -> None``: every worker runs it at start and once a minute."""
    retention: tuple[str, ...] = ()
    """``Retention``: the rules pruning the capability's finished data, and keepers of
    other capabilities' rows it still refers to (``<capability>/retention.py``)."""
    consumers: tuple[str, ...] = ()
    """``(runtime) -> Consumer``: durable event consumers (``core.events.consumers``);
    the workers run each, one at a time across them, from its stored cursor."""


def _command(name: str, target: str, help_line: str) -> LazyCommand:
    return LazyCommand(name=name, target=target, help=help_line)


CAPABILITIES: tuple[Capability, ...] = (
    Capability(
        "auth",
        commands=(
            _command("token", "orchestrate.auth.cli:token_app", "Manage API tokens."),
            _command("audit", "orchestrate.auth.cli:audit_app", "Read the audit log."),
        ),
        routers=("orchestrate.auth.api:router",),
        web_setup=("orchestrate.auth.api:install",),
        retention=("orchestrate.auth.retention:retention",),
    ),
    Capability(
        "secrets",
        commands=(
            _command(
                "secret",
                "orchestrate.secrets.cli:secret_app",
                "Manage encrypted secrets (pipelines read them as ${{ secrets.NAME }}).",
            ),
        ),
        routers=("orchestrate.secrets.api:router",),
        on_open=("orchestrate.secrets.service:start_masking",),
        background=("orchestrate.secrets.service:keep_masker_fresh",),
    ),
    Capability(
        "costs",
        commands=(
            _command(
                "cost",
                "orchestrate.costs.cli:cost_app",
                "What agents spent (a ledger entry per model call) and the budgets that cap it.",
            ),
        ),
        routers=("orchestrate.costs.api:router",),
        retention=("orchestrate.costs.retention:retention",),
    ),
    Capability(
        "stories",
        commands=(
            _command("story", "orchestrate.stories.cli:story_app", "Manage stories."),
            _command("epic", "orchestrate.stories.cli:epic_app", "Manage epics."),
        ),
        routers=("orchestrate.stories.api:router",),
    ),
    Capability(
        "timeline",
        commands=(
            _command(
                "events",
                "orchestrate.timeline.cli:events_app",
                "Read the event log: tail it, follow it live, see its consumers.",
            ),
        ),
        routers=("orchestrate.timeline.api:router",),
    ),
    Capability(
        "repositories",
        commands=(
            _command(
                "repo",
                "orchestrate.repositories.cli:repo_app",
                "Register the repositories agents work on, and see how they depend on each other.",
            ),
        ),
        routers=("orchestrate.repositories.api:router",),
    ),
    Capability("llm"),  # providers and pricing; used by agents, no entry point of its own
    Capability("forges"),  # forge adapters (GitHub, GitLab); no entry point of its own
    Capability(
        "ci",
        commands=(
            _command(
                "ci",
                "orchestrate.ci.cli:ci_app",
                "CI platforms (GitHub Actions, GitLab CI, CircleCI), test reports, flaky tests.",
            ),
        ),
        command_extensions=(
            ("ci", "orchestrate.ci.cli_reports:reports_app"),
            ("ci", "orchestrate.ci.cli_runs:runs_app"),
        ),
        routers=("orchestrate.ci.api:router",),
        retention=("orchestrate.ci.retention:retention",),
    ),
    Capability(
        "security",
        commands=(
            _command(
                "security",
                "orchestrate.security.cli:security_app",
                "Scan for secrets, code flaws, vulnerable dependencies and licences, offline.",
            ),
        ),
        command_extensions=(
            ("security", "orchestrate.security.cli_scan:scan_app"),
            ("security", "orchestrate.security.cli_db:db_extension"),
        ),
        routers=("orchestrate.security.api:router",),
        jobs=("orchestrate.security.repository_scans:register_security_jobs",),
        retention=("orchestrate.security.retention:retention",),
    ),
    Capability(
        "agents",
        commands=(
            _command("agent", "orchestrate.agents.cli:agent_app", "Run and steer AI agents."),
        ),
        routers=("orchestrate.agents.api:router", "orchestrate.agents.api:monitoring_router"),
        jobs=("orchestrate.agents.execution:register_agent_jobs",),
        retention=("orchestrate.agents.retention:retention",),
    ),
    Capability(
        "delivery",
        commands=(
            _command(
                "pr",
                "orchestrate.delivery.cli:pr_app",
                "Pull requests of agent runs: list, show, open for an agent, merge, shepherd.",
            ),
        ),
        command_extensions=(
            ("ci", "orchestrate.delivery.cli_ci:ci_fix_app"),
            ("security", "orchestrate.delivery.cli_security:security_fix_app"),
        ),
        routers=("orchestrate.delivery.api:router",),
        jobs=("orchestrate.delivery.service:register_delivery_jobs",),
        on_open=("orchestrate.delivery.service:follow_agents_on_open",),
    ),
    Capability(
        "pipelines",
        commands=(
            _command(
                "pipeline",
                "orchestrate.pipelines.cli:pipeline_app",
                "Define, run and follow durable pipelines.",
            ),
        ),
        routers=("orchestrate.pipelines.api:router",),
        jobs=("orchestrate.pipelines.service:register_pipeline_jobs",),
        retention=("orchestrate.pipelines.retention:retention",),
    ),
    Capability(
        "changesets",
        commands=(
            _command(
                "changeset",
                "orchestrate.changesets.cli:changeset_app",
                "Change sets: one change across repositories, merged in dependency order.",
            ),
        ),
        routers=("orchestrate.changesets.api:router",),
        jobs=("orchestrate.changesets.service:register_changeset_jobs",),
        on_open=("orchestrate.changesets.service:follow_pull_requests_on_open",),
    ),
    Capability(
        "autonomy",
        command_extensions=(("epic", "orchestrate.autonomy.cli:epic_run_app"),),
        routers=("orchestrate.autonomy.api:router",),
        jobs=("orchestrate.autonomy.service:register_autonomy_jobs",),
    ),
    Capability(
        "monitoring",
        commands=(
            _command(
                "job", "orchestrate.monitoring.cli:job_app", "Inspect and steer background jobs."
            ),
            _command(
                "alert",
                "orchestrate.monitoring.alerts.cli:alert_app",
                "Alert rules over the platform's metrics, their alerts, and silences.",
            ),
            _command(
                "notify",
                "orchestrate.monitoring.channels.cli:notify_app",
                "Notification channels (email, Slack, PagerDuty, webhook): add, test, see what "
                "was sent.",
            ),
        ),
        routers=(
            "orchestrate.monitoring.api:router",
            "orchestrate.monitoring.alerts.api:router",
            "orchestrate.monitoring.channels.api:router",
        ),
        public_routers=("orchestrate.monitoring.api:public_router",),
        web_setup=("orchestrate.monitoring.api:install",),
        jobs=("orchestrate.monitoring.channels.service:register_notification_jobs",),
        consumers=(
            "orchestrate.monitoring.service:metrics_consumer",
            "orchestrate.monitoring.alerts.service:alert_consumer",
        ),
        retention=(
            "orchestrate.monitoring.alerts.retention:retention",
            "orchestrate.monitoring.channels.retention:retention",
        ),
    ),
    Capability(
        "triggers",
        commands=(
            _command(
                "webhook",
                "orchestrate.triggers.cli:webhook_app",
                "Inspect GitHub and GitLab webhook deliveries; process again, replay payloads.",
            ),
        ),
        routers=("orchestrate.triggers.api:router",),
        public_routers=("orchestrate.triggers.receiver:router",),  # GitHub signs, GitLab tokens
        web_setup=("orchestrate.triggers.receiver:install",),
        jobs=("orchestrate.triggers.service:register_trigger_jobs",),
        retention=("orchestrate.triggers.retention:retention",),
    ),
    Capability(
        "schedules",
        commands=(
            _command(
                "schedule",
                "orchestrate.schedules.cli:schedule_app",
                "Cron schedules that start pipelines and agents.",
            ),
        ),
        routers=("orchestrate.schedules.api:router",),
        web_setup=("orchestrate.schedules.api:install",),
        jobs=("orchestrate.schedules.service:register_jobs",),
        on_open=("orchestrate.schedules.service:follow_pipelines_on_open",),
        upkeep=("orchestrate.schedules.service:start_schedule_firing",),
        retention=("orchestrate.schedules.retention:retention",),
    ),
    Capability(
        "dashboard",
        public_routers=("orchestrate.dashboard.web:router",),  # its own session sign-in
        web_setup=("orchestrate.dashboard.web:install",),
    ),
)
"""Every capability, in the order their commands are listed and their routes mounted."""


def resolve(target: str) -> object:
    """The object an import path ``package.module:attribute`` names (imports it)."""
    module_name, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module_name), attribute)


def resolve_as(target: str, kind: type[T]) -> T:
    """``resolve``, refusing anything that is not a ``kind``."""
    found = resolve(target)
    if not isinstance(found, kind):
        raise TypeError(f"{target} is a {type(found).__name__}, not a {kind.__name__}")
    return found


def _callables(field: str) -> list[Callable[..., object]]:
    found: list[Callable[..., object]] = []
    for capability in CAPABILITIES:
        for target in getattr(capability, field):
            function = resolve(target)
            if not callable(function):
                raise TypeError(f"{target} ({capability.name}.{field}) is not callable")
            found.append(function)
    return found


def commands() -> list[LazyCommand]:
    """Every capability's CLI commands, in list order, each with the extensions other
    capabilities add to it (nothing imported)."""
    extensions: dict[str, list[str]] = {}
    for capability in CAPABILITIES:
        for group, target in capability.command_extensions:
            extensions.setdefault(group, []).append(target)
    return [
        replace(command, extensions=(*command.extensions, *extensions.get(command.name, ())))
        for capability in CAPABILITIES
        for command in capability.commands
    ]


def routers() -> list[APIRouter]:
    from fastapi import APIRouter

    return [resolve_as(t, APIRouter) for c in CAPABILITIES for t in c.routers]


def public_routers() -> list[APIRouter]:
    from fastapi import APIRouter

    return [resolve_as(t, APIRouter) for c in CAPABILITIES for t in c.public_routers]


def web_installers() -> list[WebInstaller]:
    return cast("list[WebInstaller]", _callables("web_setup"))


def job_registrations() -> list[JobRegistration]:
    return cast("list[JobRegistration]", _callables("jobs"))


def open_hooks() -> list[RuntimeHook]:
    return cast("list[RuntimeHook]", _callables("on_open"))


def background_tasks() -> list[BackgroundTask]:
    return cast("list[BackgroundTask]", _callables("background"))


def upkeep_tasks() -> list[RuntimeHook]:
    return cast("list[RuntimeHook]", _callables("upkeep"))


def retention_declarations() -> list[Retention]:
    """Every capability's retention rules and keepers, in list order."""
    from orchestrate.core.retention import Retention

    return [resolve_as(t, Retention) for c in CAPABILITIES for t in c.retention]


def consumer_factories() -> list[ConsumerFactory]:
    return cast("list[ConsumerFactory]", _callables("consumers"))
