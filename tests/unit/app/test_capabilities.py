"""The composition root's list: every import path resolves, and what it promises holds."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
import typer
from fastapi import APIRouter

import orchestrate
from orchestrate.app import capabilities
from orchestrate.app.capabilities import CAPABILITIES, resolve
from orchestrate.app.cli import PLATFORM_COMMANDS
from orchestrate.cli.root import LazyCommand

ALL_COMMANDS = [*PLATFORM_COMMANDS, *capabilities.commands()]

# Packages of orchestrate that are not capabilities: the kernel, the toolkits, the root,
# the migrations (which import every capability's tables) and the shipped test fakes.
NOT_CAPABILITIES = {"core", "web", "cli", "app", "migrations", "testing"}


def _targets(field: str) -> list[str]:
    return [target for capability in CAPABILITIES for target in getattr(capability, field)]


def _help_line(command: LazyCommand) -> str:
    loaded = command.load()
    text = (loaded.short_help or loaded.help or "").strip()
    return text.split("\n\n")[0].replace("\n", " ")


@pytest.mark.parametrize("command", ALL_COMMANDS, ids=lambda c: c.name)
def test_every_command_loads_and_lists_its_own_help_line(command: LazyCommand) -> None:
    assert command.load() is not None
    assert command.help == _help_line(command), (
        f"the help line stored in app/ for {command.name!r} differs from its command's"
    )


def test_command_names_are_unique() -> None:
    names = [command.name for command in ALL_COMMANDS]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("target", _targets("routers") + _targets("public_routers"))
def test_every_router_path_names_a_router(target: str) -> None:
    assert isinstance(resolve(target), APIRouter)


@pytest.mark.parametrize("target", _targets("web_setup") + _targets("jobs"))
def test_every_setup_and_job_registration_is_a_plain_function(target: str) -> None:
    function = resolve(target)
    assert callable(function)
    assert not inspect.iscoroutinefunction(function)


@pytest.mark.parametrize(
    "target", _targets("on_open") + _targets("background") + _targets("upkeep")
)
def test_every_process_hook_is_a_coroutine_function(target: str) -> None:
    assert inspect.iscoroutinefunction(resolve(target))


def test_a_router_path_naming_something_else_is_refused() -> None:
    with pytest.raises(TypeError, match="not a APIRouter"):
        capabilities.resolve_as("orchestrate.auth.api:install", APIRouter)


def test_a_command_path_naming_neither_app_nor_function_is_refused() -> None:
    with pytest.raises(TypeError, match="neither a Typer app nor a command function"):
        LazyCommand("x", "orchestrate:__version__", "x").load()


def test_a_command_function_becomes_a_single_command() -> None:
    serve = next(command for command in PLATFORM_COMMANDS if command.name == "serve")
    loaded = serve.load()
    assert not isinstance(loaded, typer.core.TyperGroup)
    assert {parameter.name for parameter in loaded.params} >= {"host", "port", "worker"}


def test_every_package_is_a_listed_capability_or_infrastructure() -> None:
    root = Path(orchestrate.__file__).parent
    packages = {path.parent.name for path in root.glob("*/__init__.py")}
    listed = {capability.name for capability in CAPABILITIES}
    unlisted = packages - listed - NOT_CAPABILITIES
    assert not unlisted, f"add these to CAPABILITIES in orchestrate/app/capabilities.py: {unlisted}"


@pytest.mark.parametrize("target", _targets("retention"))
def test_every_retention_path_names_a_capabilitys_declarations(target: str) -> None:
    from orchestrate.core.retention import Retention

    assert isinstance(resolve(target), Retention)


def test_the_retention_plan_has_one_rule_per_growing_table_each_with_its_setting() -> None:
    from orchestrate.app.retention import retention_plan
    from orchestrate.core.settings import RETENTION_SETTINGS, Settings

    plan = retention_plan()

    names = [rule.name for rule in plan.rules]
    assert sorted(names) == sorted(
        [
            "audit_log",
            "agents",
            "pipeline_runs",
            "webhook_deliveries",
            "schedule_fires",
            "jobs",
            "events",
            "dashboard_sessions",
            "cost_entries",
            "notification_log",
            "alerts",
            "ci_test_runs",
            "security_scans",
        ]
    )
    assert sorted(rule.setting for rule in plan.rules) == sorted(RETENTION_SETTINGS)
    assert all(Settings().retention_period(rule.setting) for rule in plan.rules)
    assert [keeper.rule for keeper in plan.keepers] == ["agents"]


# What each table is to retention: pruned by a rule (with its parent rows), or not
# growing with use (definitions and settings people manage). A new table must be
# placed here, so nothing grows forever by being forgotten.
PRUNED_BY = {
    "pipeline_runs": "pipeline_runs",
    "pipeline_steps": "pipeline_runs",
    "agents": "agents",
    "agent_messages": "agents",
    "agent_calls": "agents",
    "agent_tool_calls": "agents",
    "webhook_deliveries": "webhook_deliveries",
    "schedule_fires": "schedule_fires",
    "audit_log": "audit_log",
    "jobs": "jobs",
    "events": "events",
    "dashboard_sessions": "dashboard_sessions",
    "cost_entries": "cost_entries",
    "notification_log": "notification_log",
    "alerts": "alerts",
    "alert_silences": "alerts",
    "ci_test_runs": "ci_test_runs",
    "ci_test_results": "ci_test_runs",
    "ci_trees": "ci_test_runs",  # a tree SHA goes with the last report recorded on it
    "security_scans": "security_scans",
    "security_findings": "security_scans",
}
NOT_GROWING = {
    "pipelines",
    "schedules",
    "secrets",
    "api_tokens",
    "epics",
    "stories",
    "story_labels",
    "event_consumers",  # one row per durable consumer: its cursor
    "repositories",
    "repository_dependencies",
    "pull_requests",  # one row per pull request opened: kept, like the stories they deliver
    "merge_policies",  # at most one row per registered repository
    "change_sets",  # one row per change set: kept, like the pull requests they group
    "change_set_members",  # one row per pull request of a change set
    "epic_runs",  # one row per run of an epic: kept, like the epics and stories they drive
    "epic_run_stories",  # one row per story of a run
    "shepherd_moves",  # a few per pull request, bounded by the shepherd's attempts
    "cost_budgets",  # one row per budget people set
    "notification_channels",  # one row per channel people add
    "alert_rule_sources",  # one row per applied alerts file
    "alert_groups",  # open notification groups only: closed ones are deleted
    "metric_counters",  # one row per metric sample: bounded by pipelines, agent types, events
    "ci_repositories",  # one row per repository CI reports named
    "ci_tests",  # one row per test of a repository
    "ci_quarantines",  # at most one row per test, kept after release
    "worker_heartbeats",  # one row per worker; a clean stop deletes it, heartbeats a day-silent one
    "osv_advisories",  # one row per OSV advisory id; a re-import replaces, never adds
    "osv_affected",  # the packages of those advisories, replaced with them
    "osv_imports",  # an import keeps only the last IMPORTS_KEPT rows
}


def test_every_table_is_pruned_by_a_rule_or_does_not_grow_with_use() -> None:
    from orchestrate.app.retention import retention_plan
    from orchestrate.migrations.metadata import metadata

    rules = {rule.name for rule in retention_plan().rules}
    tables = set(metadata.tables)

    assert tables - NOT_GROWING == set(PRUNED_BY)
    assert set(PRUNED_BY.values()) == rules
