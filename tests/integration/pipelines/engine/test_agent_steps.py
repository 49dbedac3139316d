"""Agent steps: the step starts an agent, waits for it without a worker, and exposes its result."""

from __future__ import annotations

import asyncio
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest

from orchestrate.agents import service as agents
from orchestrate.agents.execution import register_agent_jobs
from orchestrate.agents.models import AgentRun
from orchestrate.auth import service as auth
from orchestrate.auth.service import Actor, Role
from orchestrate.core.jobs import JobRegistry, JobRunner
from orchestrate.costs import service as costs
from orchestrate.llm.provider import Provider
from orchestrate.pipelines import service
from orchestrate.pipelines.reactions import register_pipeline_jobs
from orchestrate.stories import service as stories
from orchestrate.stories.models import StoryChanges, StoryDraft, StoryStatus
from orchestrate.testing.scripted import ScriptedProvider, finish, tool_call
from tests.integration.pipelines.engine.conftest import Pipelines, statuses


@pytest.fixture(autouse=True)
def _credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """The scripted provider replaces the model; the key only satisfies the start check."""
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    for args in (
        ["init", "-q", "-b", "main"],
        [
            "-c",
            "user.name=Dev",
            "-c",
            "user.email=dev@example.com",
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            "init",
        ],
    ):
        subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True)
    return root


def writing_agent(run: AgentRun) -> Provider:
    if "give up" in run.task:
        return ScriptedProvider([finish("blocked", "cannot do it")])
    return ScriptedProvider(
        [
            tool_call("write_file", {"path": "NOTES.md", "content": run.task + "\n"}),
            tool_call("git", {"action": "add", "paths": ["NOTES.md"]}),
            tool_call("git", {"action": "commit", "message": "Add notes"}),
            finish("completed", "wrote the notes"),
        ]
    )


async def work(pipelines: Pipelines) -> None:
    registry = JobRegistry()
    register_agent_jobs(registry, pipelines.runtime, lambda _runtime: writing_agent)
    register_pipeline_jobs(registry, pipelines.runtime)
    runner = JobRunner(pipelines.runtime, registry)
    await asyncio.wait_for(runner.run(until_idle=True), 60)


async def register(pipelines: Pipelines, repo: Path) -> None:
    await pipelines.register(
        f"""
        name: docs
        inputs:
          topic: {{required: true}}
        steps:
          - id: write
            agent: doc-generator
            with:
              task: "Write notes about ${{{{ inputs.topic }}}}"
              repo: {repo}
              provider: openai
              model: test-model
          - id: publish
            needs: write
            run: echo "${{{{ needs.write.outputs.branch }}}}"
        """
    )


async def test_agent_step_succeeds_with_the_agents_summary_and_branch(
    pipelines: Pipelines, repo: Path
) -> None:
    await register(pipelines, repo)
    run = await pipelines.trigger("docs", topic="pipelines")
    await work(pipelines)
    run = await pipelines.get(run.id)
    assert run.status.value == "success", run
    write = run.step("write")
    assert write.outputs["status"] == "completed"
    assert write.outputs["summary"] == "wrote the notes"
    assert write.outputs["branch"]
    agent = await agents.get_agent(pipelines.runtime.uow(read_only=True), write.outputs["agent_id"])
    assert agent.task == "Write notes about pipelines"
    assert write.agent_id == agent.id
    assert statuses(run) == {"write": "success", "publish": "success"}


async def test_agent_that_does_not_complete_fails_the_step(
    pipelines: Pipelines, repo: Path
) -> None:
    await register(pipelines, repo)
    run = await pipelines.trigger("docs", topic="give up")
    await work(pipelines)
    run = await pipelines.get(run.id)
    assert run.status.value == "failure"
    assert run.step("write").outputs["status"] == "failed"
    assert "blocked" in (run.step("write").error or "")
    assert run.step("publish").skip_reason == "needs 'write', which failed"


async def test_an_unknown_agent_type_fails_the_step_with_the_reason(
    pipelines: Pipelines, repo: Path
) -> None:
    await pipelines.register(
        f"""
        name: typo
        steps:
          - id: write
            agent: doc-generatr
            with: {{task: notes, repo: {repo}, provider: openai, model: m}}
        """
    )
    run = await pipelines.trigger("typo")
    await work(pipelines)
    run = await pipelines.get(run.id)
    assert run.status.value == "failure"
    assert "doc-generatr" in (run.step("write").error or "")
    runs = await service.list_runs(pipelines.runtime.uow(read_only=True), pipeline="typo")
    assert [r.id for r in runs.items] == [run.id]


async def test_agent_step_is_audited_as_the_token_that_started_the_run(
    pipelines: Pipelines, repo: Path
) -> None:
    await register(pipelines, repo)
    starter = Actor(name="token:ci-bot", role=Role.OPERATOR, source="127.0.0.1")
    request = service.TriggerRequest("docs", inputs={"topic": "audit"})
    run = await service.trigger_pipeline(
        pipelines.runtime.uow(), pipelines.runtime.settings, request, starter
    )
    await work(pipelines)
    agent_id = (await pipelines.get(run.id)).step("write").outputs["agent_id"]
    page = await auth.list_audit(
        pipelines.runtime.uow(read_only=True), action="agent.start", subject=agent_id
    )
    assert [record.actor for record in page.items] == ["token:ci-bot"]


async def test_an_agent_step_on_a_story_another_agent_holds_fails_unless_forced(
    pipelines: Pipelines, repo: Path
) -> None:
    story = await stories.create_story(
        pipelines.runtime.uow(), StoryDraft(title="Notes"), Actor.local_cli()
    )
    await stories.update_story(
        pipelines.runtime.uow(), story.id, StoryChanges(status=StoryStatus.READY), Actor.local_cli()
    )
    holder = await agents.start_agent(
        pipelines.runtime.uow(),
        pipelines.runtime.settings,
        agents.StartAgent(
            type="doc-generator", task="hold it", story=story.id, repo=repo,
            provider="openai", model="m", enqueue=False,
        ),
        Actor.local_cli(),
    )  # fmt: skip
    for name, force in (("polite", "false"), ("forceful", "true")):
        await pipelines.register(
            f"""
            name: {name}
            steps:
              - id: write
                agent: doc-generator
                with:
                  task: notes
                  story: {story.id}
                  force: {force}
                  repo: {repo}
                  provider: openai
                  model: m
            """
        )

    polite = await pipelines.trigger("polite")
    await work(pipelines)
    polite = await pipelines.get(polite.id)
    assert polite.status.value == "failure"
    assert f"Agent {holder.id}" in (polite.step("write").error or "")
    assert "already working on story" in (polite.step("write").error or "")

    forceful = await pipelines.trigger("forceful")
    await work(pipelines)
    forceful = await pipelines.get(forceful.id)
    assert forceful.status.value == "success", forceful.step("write").error
    taken = await stories.get_story(pipelines.runtime.uow(read_only=True), story.id)
    assert taken.assignee == f"agent:{forceful.step('write').outputs['agent_id']}"


class TestCosts:
    async def test_the_agents_model_calls_are_charged_to_the_pipeline_and_its_run(
        self, pipelines: Pipelines, repo: Path
    ) -> None:
        await register(pipelines, repo)
        run = await pipelines.trigger("docs", topic="costs")
        await work(pipelines)

        report = await costs.cost_report(
            pipelines.runtime.uow(read_only=True), costs.CostGrouping.PIPELINE
        )
        assert [(line.key, line.calls) for line in report.lines] == [("docs", 4)]
        agent_id = (await pipelines.get(run.id)).step("write").outputs["agent_id"]
        agent = await agents.get_agent(pipelines.runtime.uow(read_only=True), agent_id)
        assert (agent.pipeline, agent.pipeline_run_id) == ("docs", run.id)

    async def test_a_spent_pipeline_budget_fails_the_agent_step_naming_the_budget(
        self, pipelines: Pipelines, repo: Path
    ) -> None:
        runtime = pipelines.runtime
        async with runtime.uow() as uow:
            await costs.record_call_cost(
                uow,
                costs.CostEntry(
                    model="test-model",
                    provider="openai",
                    agent_id="agent_earlier",
                    agent_type="doc-generator",
                    input_tokens=1,
                    output_tokens=1,
                    cache_read_tokens=0,
                    cache_write_tokens=0,
                    cost_usd=Decimal(2),
                    pipeline="docs",
                ),
            )
            await uow.commit()
        spec = costs.BudgetSpec(Decimal(1), scope=costs.BudgetScope.PIPELINE, scope_value="docs")
        await costs.set_budget(runtime.uow(), spec, Actor.local_cli())
        await register(pipelines, repo)

        run = await pipelines.trigger("docs", topic="anything")
        await work(pipelines)

        run = await pipelines.get(run.id)
        assert run.status.value == "failure"
        write = run.step("write")
        assert write.status.value == "failure"
        assert "The monthly budget of pipeline 'docs' is spent" in (write.error or "")
        assert write.agent_id is None
