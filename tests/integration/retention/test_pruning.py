"""Retention on both databases: old finished data goes, files included; live data stays."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from orchestrate.agents.tables import AgentRow
from orchestrate.app.retention import retention_plan
from orchestrate.core.clock import FrozenClock
from orchestrate.core.errors import ValidationFailed
from orchestrate.core.jobs.retention import FinishedJobs
from orchestrate.core.retention import (
    Deleted,
    Key,
    Retention,
    RetentionPlan,
    RetentionRule,
    prune,
)
from orchestrate.core.runtime import Runtime
from orchestrate.core.uow import UnitOfWork
from orchestrate.pipelines.tables import PipelineRunRow
from tests.integration.retention.rows import Rows
from tests.integration.retention.support import stored

YEAR_AND_A_BIT = timedelta(days=400)


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True
    ).stdout


def clock_of(runtime: Runtime) -> FrozenClock:
    assert isinstance(runtime.clock, FrozenClock)
    return runtime.clock


async def test_old_finished_data_of_every_rule_is_pruned_with_its_files(
    frozen_runtime: Runtime, rows: Rows, tmp_path: Path
) -> None:
    logs, workspaces = tmp_path / "logs", tmp_path / "workspaces"
    run_id, _ = await rows.run(steps=3, logs=logs, workspace=workspaces / "run")
    agent_id = await rows.agent(workspace=workspaces / "agent")
    await rows.delivery()
    await rows.delivery("failed")
    schedule_id = await rows.schedule()
    old_fire = await rows.fire(schedule_id, "skipped")
    await rows.job()
    await rows.job("cancelled")
    await rows.event()
    await rows.audit()
    await rows.dashboard_session()
    await rows.notification()
    clock_of(frozen_runtime).advance(YEAR_AND_A_BIT)
    latest_fire = await rows.fire(schedule_id, "started")

    outcomes = await prune(frozen_runtime, retention_plan())

    left = await stored(frozen_runtime)
    for table in ("runs", "steps", "agents", "messages", "calls", "tool_calls", "deliveries"):
        assert left[table] == set(), table
    assert old_fire not in left["fires"]
    assert left["fires"] == {latest_fire}
    assert left["schedules"] == {schedule_id}  # the schedule itself is never pruned
    assert left["jobs"] == set()
    assert left["audit"] == set()
    assert left["sessions"] == set()  # expired a year ago
    # pruning wrote its own events and audit nothing; the old event is gone
    assert left["events"] == set()
    assert not (logs / run_id).exists()
    assert not (workspaces / "run").exists()
    assert not (workspaces / "agent").exists()
    removed = {outcome.rule: outcome.rows for outcome in outcomes}
    assert removed == {
        "audit_log": 3,  # ours, the token's creation and the sign-in
        "agents": 1,
        "pipeline_runs": 1,
        "webhook_deliveries": 2,
        "schedule_fires": 1,
        "jobs": 2,
        "events": 1,
        "dashboard_sessions": 1,
        "notification_log": 1,
        "cost_entries": 0,  # none written: the ledger's own pruning is in tests/integration/costs
        "alerts": 0,  # none written: alerts' own pruning is in tests/integration/monitoring
        "ci_test_runs": 0,  # none written: the test history's is in tests/integration/ci
        "security_scans": 0,  # none written: see tests/integration/security/test_retention.py
    }
    files = {outcome.rule: outcome.files for outcome in outcomes}
    assert files["pipeline_runs"] == 2  # the log folder and the leftover workspace
    assert files["agents"] == 1
    assert agent_id


async def test_an_old_agents_worktree_is_removed_and_its_branch_kept(
    frozen_runtime: Runtime, rows: Rows, tmp_path: Path
) -> None:
    repo = tmp_path / "project"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "README").write_text("hi\n")
    git(repo, "add", ".")
    git(repo, "-c", "user.name=Dev", "-c", "user.email=dev@example.com", "commit", "-qm", "init")
    agent_id = await rows.agent(worktree_of=repo)
    async with frozen_runtime.uow(read_only=True) as uow:
        agent = await uow.session.get(AgentRow, agent_id)
        assert agent is not None
        worktree, branch = Path(str(agent.workspace_path)), str(agent.branch)
    assert worktree.is_dir()
    clock_of(frozen_runtime).advance(YEAR_AND_A_BIT)

    await prune(frozen_runtime, retention_plan())

    assert not worktree.exists()
    assert str(worktree) not in git(repo, "worktree", "list")
    assert branch in git(repo, "branch", "--list")


async def test_live_and_recent_data_is_untouched(
    frozen_runtime: Runtime, rows: Rows, tmp_path: Path
) -> None:
    running_run, _ = await rows.run("running", logs=tmp_path / "logs")
    waiting_run, _ = await rows.run("waiting")
    queued_run, _ = await rows.run("queued")
    paused = await rows.agent("paused", workspace=tmp_path / "paused")
    awaiting = await rows.agent("waiting_for_approval")
    queued_job = await rows.job("queued")
    dead_job = await rows.job("dead")
    received = await rows.delivery("received")
    processing = await rows.delivery("processing")
    schedule_id = await rows.schedule()
    pending_fire = await rows.fire(schedule_id, "pending")
    queued_fire = await rows.fire(schedule_id, "queued")
    # finished, old, but referred to by something live
    _, (parent_step, *_) = await rows.run("running")
    child_of_live, _ = await rows.run(parent_step_id=parent_step)
    parent_of_live, (its_step, *_) = await rows.run()
    await rows.run("running", parent_step_id=its_step)
    rerun_source, _ = await rows.run()
    await rows.run("running", rerun_of=rerun_source)
    finished_agent_of_live_run = await rows.agent()
    await rows.run("running", agent_id=finished_agent_of_live_run)
    run_of_live_agent, _ = await rows.run(agent_id=paused)
    live_parent = await rows.agent("running")
    sub_agent_of_live = await rows.agent(parent_id=live_parent)
    delivery_of_live_run = await rows.delivery(
        result={"runs": [{"pipeline": "ci", "run_id": running_run}]}
    )
    delivery_of_live_agent = await rows.delivery(
        result={"runs": [], "automations": [{"agent_id": paused}]}
    )
    fire_of_live_run = await rows.fire(schedule_id, "started", run_id=waiting_run)
    clock_of(frozen_runtime).advance(YEAR_AND_A_BIT)
    recent_run, _ = await rows.run()
    recent_agent = await rows.agent()
    recent_delivery = await rows.delivery()
    recent_job = await rows.job()
    recent_event = await rows.event()

    await prune(frozen_runtime, retention_plan())

    left = await stored(frozen_runtime)
    assert {
        running_run,
        waiting_run,
        queued_run,
        child_of_live,
        parent_of_live,
        rerun_source,
        run_of_live_agent,
        recent_run,
    } <= left["runs"]
    assert {
        paused,
        awaiting,
        finished_agent_of_live_run,
        sub_agent_of_live,
        live_parent,
        recent_agent,
    } <= left["agents"]
    assert {paused, awaiting} <= left["messages"]
    assert {queued_job, dead_job, recent_job} <= left["jobs"]
    assert {
        received,
        processing,
        delivery_of_live_run,
        delivery_of_live_agent,
        recent_delivery,
    } <= left["deliveries"]
    assert {pending_fire, queued_fire, fire_of_live_run} <= left["fires"]
    assert recent_event in left["events"]
    assert (tmp_path / "paused" / "notes.txt").exists()
    assert (tmp_path / "logs" / running_run).is_dir()


async def test_a_run_is_pruned_once_what_referred_to_it_has_ended_and_aged(
    frozen_runtime: Runtime, rows: Rows
) -> None:
    agent_id = await rows.agent()
    run_id, _ = await rows.run("running", agent_id=agent_id)
    clock_of(frozen_runtime).advance(YEAR_AND_A_BIT)
    await prune(frozen_runtime, retention_plan())
    assert agent_id in (await stored(frozen_runtime))["agents"]

    async with frozen_runtime.uow() as uow:
        run = await uow.session.get(PipelineRunRow, run_id)
        assert run is not None
        run.status, run.finished_at = "success", uow.now()
        await uow.commit()
    clock_of(frozen_runtime).advance(YEAR_AND_A_BIT)
    await prune(frozen_runtime, retention_plan())

    left = await stored(frozen_runtime)
    assert agent_id not in left["agents"]
    assert run_id not in left["runs"]


async def test_rules_work_in_batches_and_pass_over_what_they_keep(
    frozen_runtime: Runtime, rows: Rows
) -> None:
    live_agent = await rows.agent("running")
    kept = {(await rows.agent(parent_id=live_agent)) for _ in range(3)}
    doomed = {await rows.agent() for _ in range(4)}
    for _ in range(5):
        await rows.job()
        await rows.event()
    clock_of(frozen_runtime).advance(YEAR_AND_A_BIT)

    outcomes = await prune(frozen_runtime, retention_plan(), batch_size=2)

    by_rule = {outcome.rule: outcome for outcome in outcomes}
    assert by_rule["agents"].rows == 4
    assert by_rule["agents"].batches == 4  # 7 finished agents, 2 a batch
    assert by_rule["jobs"].rows == 5
    assert by_rule["jobs"].batches == 3
    assert by_rule["events"].rows == 5
    left = await stored(frozen_runtime)
    assert kept <= left["agents"]
    assert not doomed & left["agents"]
    assert left["jobs"] == set()


async def test_a_dry_run_counts_and_removes_nothing(
    frozen_runtime: Runtime, rows: Rows, tmp_path: Path
) -> None:
    run_id, _ = await rows.run(steps=2, logs=tmp_path / "logs")
    await rows.agent()
    await rows.delivery()
    await rows.job()
    await rows.event()
    clock_of(frozen_runtime).advance(YEAR_AND_A_BIT)
    before = await stored(frozen_runtime)

    outcomes = await prune(frozen_runtime, retention_plan(), dry_run=True)

    assert await stored(frozen_runtime) == before
    assert (tmp_path / "logs" / run_id).is_dir()
    counts = {outcome.rule: outcome.rows for outcome in outcomes}
    assert counts["pipeline_runs"] == 1
    assert counts["agents"] == 1
    assert counts["webhook_deliveries"] == 1
    assert counts["jobs"] == 1
    assert counts["events"] == 1
    assert all(outcome.dry_run and outcome.cutoff is not None for outcome in outcomes)


async def test_older_than_replaces_every_age_but_leaves_rules_that_are_off(
    frozen_runtime: Runtime, rows: Rows
) -> None:
    run_id, _ = await rows.run()
    agent_id = await rows.agent()
    clock_of(frozen_runtime).advance(timedelta(days=2))
    frozen_runtime.settings.retention_agents = "off"

    default = await prune(frozen_runtime, retention_plan())
    assert run_id in (await stored(frozen_runtime))["runs"]  # 2 days < 30d

    outcomes = await prune(frozen_runtime, retention_plan(), older_than="1d")

    left = await stored(frozen_runtime)
    assert run_id not in left["runs"]
    assert agent_id in left["agents"]
    by_rule = {outcome.rule: outcome for outcome in outcomes}
    assert by_rule["pipeline_runs"].age == "1d"
    assert by_rule["pipeline_runs"].cutoff == clock_of(frozen_runtime).now() - timedelta(days=1)
    assert by_rule["agents"].is_off
    assert {o.rule: o.age for o in default}["pipeline_runs"] == "30d"


async def test_a_bad_older_than_is_refused_before_anything_is_pruned(
    frozen_runtime: Runtime, rows: Rows
) -> None:
    await rows.job()
    clock_of(frozen_runtime).advance(YEAR_AND_A_BIT)

    with pytest.raises(ValidationFailed, match="--older-than: '30' is not a duration"):
        await prune(frozen_runtime, retention_plan(), older_than="30")

    assert (await stored(frozen_runtime))["jobs"]


async def test_two_pruners_at_once_remove_each_row_once(
    frozen_runtime: Runtime, rows: Rows, tmp_path: Path
) -> None:
    for index in range(6):
        await rows.run(logs=tmp_path / "logs", workspace=tmp_path / f"ws{index}")
        await rows.job()
    clock_of(frozen_runtime).advance(YEAR_AND_A_BIT)
    plan = retention_plan()

    first, second = await asyncio.gather(
        prune(frozen_runtime, plan, batch_size=2), prune(frozen_runtime, plan, batch_size=2)
    )

    total = {
        rule: sum(o.rows for o in (*first, *second) if o.rule == rule)
        for rule in ("pipeline_runs", "jobs")
    }
    assert total == {"pipeline_runs": 6, "jobs": 6}
    left = await stored(frozen_runtime)
    assert left["runs"] == left["steps"] == left["jobs"] == set()
    assert not any((tmp_path / "logs").iterdir())


def test_a_plan_refuses_a_keeper_of_a_rule_it_does_not_have() -> None:
    from orchestrate.core.errors import ConfigurationError
    from orchestrate.core.retention import Keeper

    async def keep_nothing(uow: object, keys: object) -> set[object]:
        return set()

    stray = Retention(keepers=(Keeper(rule="nope", why="test", keep=keep_nothing),))  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="'nope'"):
        RetentionPlan.of([stray])


class _BrokenRule(RetentionRule):
    """A rule whose every query fails, as a bug or a lost table would make it."""

    name = "broken"
    setting = "retention_events"
    removes = "nothing: it always fails"

    async def candidates(
        self, uow: UnitOfWork, cutoff: datetime, *, after: Key | None, limit: int
    ) -> list[Key]:
        raise RuntimeError("the table is gone")

    async def delete(self, uow: UnitOfWork, keys: Sequence[Key], cutoff: datetime) -> Deleted:
        raise AssertionError("never reached")


async def test_a_failing_rule_is_reported_and_the_others_still_run(
    frozen_runtime: Runtime, rows: Rows
) -> None:
    await rows.job()
    clock_of(frozen_runtime).advance(YEAR_AND_A_BIT)
    plan = RetentionPlan.of([Retention(rules=(_BrokenRule(), FinishedJobs()))])

    broken, jobs = await prune(frozen_runtime, plan)

    assert broken.error == "RuntimeError: the table is gone"
    assert jobs.error is None
    assert jobs.rows == 1
    assert (await stored(frozen_runtime))["jobs"] == set()
