"""Built-in automations end to end: a signed delivery in, agents and stories out, once."""

from __future__ import annotations

import asyncio
import copy
import json
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from orchestrate.agents import service as agents
from orchestrate.agents.models import AgentRun, AgentState
from orchestrate.auth.models import Actor, Role
from orchestrate.core.jobs import JobRegistry, JobRunner
from orchestrate.core.runtime import Runtime
from orchestrate.core.settings import Settings
from orchestrate.repositories import service as repositories
from orchestrate.stories import service as stories
from orchestrate.stories.models import Story
from orchestrate.triggers import service
from tests.integration.cli.support import Cli, make_cli
from tests.integration.triggers.test_receiver import PAYLOADS, SECRET, body_of, deliver
from tests.support import bearer

REPOSITORY = "Codertocat/Hello-World"  # the repository of the real payloads


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    """A local clone standing in for Codertocat/Hello-World."""
    root = tmp_path / "hello-world"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / "README.md").write_text("hello\n")
    git(root, "add", ".")
    git(root, "-c", "user.name=Dev", "-c", "user.email=dev@example.com", "commit", "-qm", "init")
    git(root, "branch", "changes")
    return root


@pytest.fixture
def settings(db_url: str, tmp_path: Path, clone: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    return Settings(
        home=tmp_path / "home",
        database_url=db_url,
        github_webhook_secret=SECRET,
        github_repositories={REPOSITORY: clone},
    )


def payload(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((PAYLOADS / name).read_text())
    return loaded


async def process(runtime: Runtime) -> None:
    """Run only the webhook processing jobs: agents are created, never run, here."""
    registry = JobRegistry()
    service.register_trigger_jobs(registry, runtime)
    async with asyncio.timeout(60):
        await JobRunner(runtime, registry).run(until_idle=True)


async def deliver_and_process(
    api: httpx.AsyncClient, runtime: Runtime, event: str, body: dict[str, Any]
) -> str:
    response = await deliver(api, body_of(body), event)
    assert response.status_code == 202, response.text
    await process(runtime)
    delivery_id: str = response.json()["id"]
    return delivery_id


async def all_agents(runtime: Runtime) -> list[AgentRun]:
    return list((await agents.list_agents(runtime.uow(read_only=True), limit=100)).items)


async def all_stories(runtime: Runtime) -> list[Story]:
    return list((await stories.list_stories(runtime.uow(read_only=True), limit=100)).items)


async def test_an_opened_pull_request_gets_a_pr_shepherd_on_its_branch(
    api: httpx.AsyncClient, runtime: Runtime, clone: Path
) -> None:
    opened = payload("pull_request/opened.payload.json")

    key = await deliver_and_process(api, runtime, "pull_request", opened)

    [agent] = await all_agents(runtime)
    assert agent.type == "pr-shepherd"
    assert agent.state is AgentState.CREATED
    assert agent.base_ref == "changes"
    assert agent.repo_path == str(clone.resolve())
    assert opened["pull_request"]["html_url"] in agent.task
    delivery = await service.get_delivery(runtime.uow(read_only=True), key)
    assert delivery.status is service.DeliveryStatus.PROCESSED
    assert delivery.result is not None
    [done] = delivery.result["automations"]
    assert done["automation"] == "pr-shepherd"
    assert done["agent_id"] == agent.id


async def test_a_repository_registered_with_repo_add_is_worked_on_without_the_seed(
    api: httpx.AsyncClient, runtime: Runtime, clone: Path, admin: Actor
) -> None:
    runtime.settings = runtime.settings.model_copy(update={"github_repositories": {}})
    request = repositories.NewRepository(source=str(clone), name=REPOSITORY.lower())
    await repositories.add_repository(runtime.uow(), runtime.settings, request, admin)

    await deliver_and_process(
        api, runtime, "pull_request", payload("pull_request/opened.payload.json")
    )

    [agent] = await all_agents(runtime)
    assert agent.type == "pr-shepherd"
    assert agent.repo_path == str(clone.resolve())


async def test_the_same_ci_failure_delivered_twice_starts_one_fixer(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    failed = copy.deepcopy(payload("check_suite/completed.payload.json"))
    failed["check_suite"]["conclusion"] = "failure"

    first = await deliver_and_process(api, runtime, "check_suite", failed)
    second = await deliver_and_process(api, runtime, "check_suite", failed)

    [agent] = await all_agents(runtime)
    assert agent.type == "issue-fixer"
    for key in (first, second):
        delivery = await service.get_delivery(runtime.uow(read_only=True), key)
        assert delivery.result is not None
        assert delivery.result["automations"][0]["agent_id"] == agent.id


async def test_an_opened_issue_becomes_one_story_even_when_redelivered(
    api: httpx.AsyncClient, runtime: Runtime, tokens: dict[Role, str]
) -> None:
    opened = payload("issues/opened.payload.json")

    key = await deliver_and_process(api, runtime, "issues", opened)
    redelivered = await api.post(
        f"/api/webhooks/deliveries/{key}/redeliver", headers=bearer(tokens[Role.ADMIN])
    )
    assert redelivered.status_code == 202
    await process(runtime)
    await deliver_and_process(api, runtime, "issues", opened)  # a new delivery id

    [story] = await all_stories(runtime)
    assert story.title == opened["issue"]["title"]
    assert opened["issue"]["html_url"] in story.description
    assert story.source == opened["issue"]["html_url"]


async def test_with_issue_develop_a_story_developer_starts_on_the_issue_s_story_once(
    api: httpx.AsyncClient, runtime: Runtime, clone: Path
) -> None:
    runtime.settings = runtime.settings.model_copy(update={"automation_issue_develop": True})
    opened = payload("issues/opened.payload.json")

    key = await deliver_and_process(api, runtime, "issues", opened)
    await deliver_and_process(api, runtime, "issues", opened)  # a new delivery id

    [story] = await all_stories(runtime)
    [agent] = await all_agents(runtime)
    assert (agent.type, agent.story_id, agent.repo_path) == (
        "story-developer",
        story.id,
        str(clone),
    )
    delivery = await service.get_delivery(runtime.uow(read_only=True), key)
    assert delivery.result is not None
    assert delivery.result["automations"][0]["developer_agent_id"] == agent.id


async def test_without_a_local_clone_an_agent_automation_is_recorded_as_skipped(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    runtime.settings = runtime.settings.model_copy(update={"github_repositories": {}})

    key = await deliver_and_process(
        api, runtime, "pull_request", payload("pull_request/opened.payload.json")
    )

    assert await all_agents(runtime) == []
    delivery = await service.get_delivery(runtime.uow(read_only=True), key)
    assert delivery.status is service.DeliveryStatus.PROCESSED
    assert delivery.result is not None
    assert delivery.result["automations"][0]["skipped"] == (
        f"no local clone of {REPOSITORY}: register one with "
        f"'orchestrate repo add PATH_OR_URL --name {REPOSITORY}'"
    )


async def test_explain_shows_pipelines_and_automations_without_starting_anything(
    api: httpx.AsyncClient, runtime: Runtime, tokens: dict[Role, str]
) -> None:
    response = await deliver(
        api, body_of(payload("pull_request/opened.payload.json")), "pull_request"
    )
    key = response.json()["id"]

    explained = await api.get(
        f"/api/webhooks/deliveries/{key}/explain", headers=bearer(tokens[Role.VIEWER])
    )

    assert explained.status_code == 200, explained.text
    body = explained.json()
    assert body["matched"] == []
    assert [a["automation"] for a in body["automations"]] == ["pr-shepherd"]
    assert await all_agents(runtime) == []


async def test_explain_of_an_unknown_delivery_is_404(
    api: httpx.AsyncClient, tokens: dict[Role, str]
) -> None:
    response = await api.get(
        "/api/webhooks/deliveries/whd_nope/explain", headers=bearer(tokens[Role.VIEWER])
    )

    assert response.status_code == 404


PIPELINE = """\
name: on-pr
on:
  github:
    - event: pull_request
      actions: [closed]
      repositories: [Codertocat/Hello-World]
steps:
  - id: greet
    run: echo hi
"""


def test_webhook_explain_prints_why_a_pipeline_did_not_match(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli: Cli = next(make_cli(str(settings.database_url_value), tmp_path, monkeypatch))
    pipeline = tmp_path / "on-pr.yml"
    pipeline.write_text(PIPELINE)
    assert cli("pipeline", "create", str(pipeline)).exit_code == 0
    opened = PAYLOADS / "pull_request/opened.payload.json"
    replayed = cli("webhook", "replay", str(opened), "--event", "pull_request", "--json")
    key = json.loads(replayed.stdout)["id"]

    shown = cli("webhook", "explain", key)
    as_json = cli("webhook", "explain", key, "--json")

    assert shown.exit_code == 0, shown.output
    assert "on-pr" in shown.stdout
    assert "pr-shepherd" in shown.stdout
    explained = json.loads(as_json.stdout)
    [verdict] = explained["pipelines"]
    assert verdict["pipeline"] == "on-pr"
    assert verdict["matched"] is False
    assert any("opened" in reason for reason in verdict["reasons"])
