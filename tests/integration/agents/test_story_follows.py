"""Stories follow their agents, on SQLite and PostgreSQL, with scripted models and real git.

One agent is active on a story at a time; a second start is refused with the first's
id (``--force`` / ``"force": true`` takes the story over); a done story is refused
before anything is stored; an agent's end moves its story in the transaction of the
agent's final transition: review with the branch when it committed, ``ready`` when it
failed or was cancelled, ``blocked`` with its reason when it reported blocked.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from orchestrate.agents import service
from orchestrate.agents.execution import execute_agent, run_agent_here
from orchestrate.agents.models import AgentRun, AgentState
from orchestrate.auth.models import Role
from orchestrate.auth.service import Actor
from orchestrate.core.errors import Conflict, InvalidTransition
from orchestrate.core.runtime import Runtime
from orchestrate.stories import service as stories
from orchestrate.stories.models import Story, StoryChanges, StoryDraft, StoryStatus
from orchestrate.testing.scripted import ScriptedProvider, finish, tool_call
from tests.integration.agents.conftest import AgentRunner, SlowProvider
from tests.integration.cli.support import Cli, make_cli
from tests.integration.stories.support import events_about
from tests.support import bearer

HANG_GUARD = 60
"""Seconds before a wait fails instead of hanging; it measures nothing."""

FIX_AND_COMMIT = [
    tool_call("edit_file", {"path": "calc.py", "old_string": "a - b", "new_string": "a + b"}),
    tool_call("git", {"action": "add", "paths": ["calc.py"]}),
    tool_call("git", {"action": "commit", "message": "Fix add"}),
    finish("completed", "add() now adds."),
]

TO_DONE = (StoryStatus.READY, StoryStatus.IN_PROGRESS, StoryStatus.REVIEW, StoryStatus.DONE)


async def new_story(runtime: Runtime, *moves: StoryStatus) -> Story:
    story = await stories.create_story(
        runtime.uow(), StoryDraft(title="Addition adds"), Actor.local_cli()
    )
    for status in moves:
        story = await stories.update_story(
            runtime.uow(), story.id, StoryChanges(status=status), Actor.local_cli()
        )
    return story


async def story_now(runtime: Runtime, story_id: str) -> Story:
    return await stories.get_story(runtime.uow(read_only=True), story_id)


def start_request(repo: Path, story: str, **changes: object) -> service.StartAgent:
    fields: dict[str, object] = {
        "type": "story-developer",
        "task": "Make the tests pass",
        "repo": repo,
        "story": story,
        "provider": "openai",
        "model": "scripted-model",
        "enqueue": False,
        **changes,
    }
    return service.StartAgent(**fields)  # type: ignore[arg-type]


async def start(runtime: Runtime, repo: Path, story: str, **changes: object) -> AgentRun:
    request = start_request(repo, story, **changes)
    return await service.start_agent(runtime.uow(), runtime.settings, request, Actor.local_cli())


class TestOneAgentPerStory:
    async def test_a_start_moves_the_story_to_in_progress_and_assigns_it_to_the_agent(
        self, runtime: Runtime, repo: Path
    ) -> None:
        story = await new_story(runtime)

        run = await start(runtime, repo, story.id)

        taken = await story_now(runtime, story.id)
        assert taken.status is StoryStatus.IN_PROGRESS
        assert taken.assignee == f"agent:{run.id}"

    async def test_a_second_start_is_refused_naming_the_active_agent(
        self, runtime: Runtime, repo: Path
    ) -> None:
        story = await new_story(runtime)
        first = await start(runtime, repo, story.id)

        with pytest.raises(Conflict) as refused:
            await start(runtime, repo, story.id)

        assert first.id in str(refused.value)
        assert refused.value.context["agent_id"] == first.id
        page = await service.list_agents(runtime.uow(read_only=True), story_id=story.id)
        assert [agent.id for agent in page.items] == [first.id]

    async def test_force_starts_a_second_agent_which_takes_the_story_over(
        self, runtime: Runtime, repo: Path
    ) -> None:
        story = await new_story(runtime)
        first = await start(runtime, repo, story.id)

        second = await start(runtime, repo, story.id, force=True)
        await service.cancel(runtime.uow(), first.id, Actor.local_cli())

        # The first agent's end leaves the story to the agent it is assigned to now.
        taken = await story_now(runtime, story.id)
        assert taken.status is StoryStatus.IN_PROGRESS
        assert taken.assignee == f"agent:{second.id}"

    async def test_a_story_whose_agent_ended_can_be_started_on_again(
        self, runtime: Runtime, repo: Path
    ) -> None:
        story = await new_story(runtime)
        first = await start(runtime, repo, story.id)
        await service.cancel(runtime.uow(), first.id, Actor.local_cli())

        second = await start(runtime, repo, story.id)

        assert (await story_now(runtime, story.id)).assignee == f"agent:{second.id}"

    async def test_of_two_concurrent_starts_exactly_one_gets_the_story(
        self, runtime: Runtime, repo: Path
    ) -> None:
        story = await new_story(runtime)
        # Another process's connections: on SQLite only its writer lock stands between them.
        other = Runtime.open(runtime.settings)
        try:
            outcomes = await asyncio.gather(
                start(runtime, repo, story.id),
                start(other, repo, story.id),
                return_exceptions=True,
            )
        finally:
            await other.close()

        started = [o for o in outcomes if isinstance(o, AgentRun)]
        refused = [o for o in outcomes if isinstance(o, Conflict)]
        assert len(started) == 1, outcomes
        assert len(refused) == 1, outcomes
        assert refused[0].context["agent_id"] == started[0].id
        page = await service.list_agents(runtime.uow(read_only=True), story_id=story.id)
        assert [agent.id for agent in page.items] == [started[0].id]

    async def test_a_done_story_is_refused_and_nothing_is_stored(
        self, runtime: Runtime, repo: Path
    ) -> None:
        story = await new_story(runtime, *TO_DONE)

        with pytest.raises(InvalidTransition, match="is done; reopen it first"):
            await start(runtime, repo, story.id)

        page = await service.list_agents(runtime.uow(read_only=True), story_id=story.id)
        assert page.items == []
        assert (await story_now(runtime, story.id)).status is StoryStatus.DONE


class TestTheStoryFollowsTheAgentsEnd:
    async def test_a_completed_agent_moves_the_story_to_review_with_its_branch(
        self, runtime: Runtime, repo: Path
    ) -> None:
        story = await new_story(runtime)
        agent = AgentRunner(runtime, ScriptedProvider(FIX_AND_COMMIT))
        await agent.start(repo=repo, story=story.id)

        run = await agent.drive()

        assert run.state is AgentState.COMPLETED, run.failure_reason
        reviewed = await story_now(runtime, story.id)
        assert reviewed.status is StoryStatus.REVIEW
        assert reviewed.branch == run.branch
        assert reviewed.assignee == f"agent:{run.id}"

    async def test_after_a_forced_start_only_the_new_agents_branch_reaches_the_story(
        self, runtime: Runtime, repo: Path
    ) -> None:
        story = await new_story(runtime)
        first = AgentRunner(runtime, ScriptedProvider(FIX_AND_COMMIT))
        await first.start(repo=repo, story=story.id)
        second = AgentRunner(runtime, ScriptedProvider(FIX_AND_COMMIT))
        second.agent_id = (await start(runtime, repo, story.id, force=True)).id

        first_run = await first.drive()
        meanwhile = await story_now(runtime, story.id)
        second_run = await second.drive()

        assert first_run.state is AgentState.COMPLETED, first_run.failure_reason
        assert (meanwhile.status, meanwhile.branch) == (StoryStatus.IN_PROGRESS, None)
        reviewed = await story_now(runtime, story.id)
        assert second_run.branch is not None
        assert (reviewed.status, reviewed.branch) == (StoryStatus.REVIEW, second_run.branch)

    async def test_an_agent_completing_without_a_commit_gives_the_story_back(
        self, runtime: Runtime, repo: Path
    ) -> None:
        story = await new_story(runtime)
        agent = AgentRunner(runtime, ScriptedProvider([finish("completed", "Nothing to do.")]))
        await agent.start(repo=repo, story=story.id)

        await agent.drive()

        back = await story_now(runtime, story.id)
        assert (back.status, back.assignee, back.branch) == (StoryStatus.READY, None, None)

    async def test_a_failed_agent_returns_the_story_to_ready_and_clears_the_assignee(
        self, runtime: Runtime, repo: Path
    ) -> None:
        story = await new_story(runtime)
        script = [tool_call("read_file", {"path": "calc.py"}), finish("completed", "never")]
        agent = AgentRunner(runtime, ScriptedProvider(script))
        await agent.start(repo=repo, story=story.id, max_turns=1)

        run = await agent.drive()

        assert run.state is AgentState.FAILED
        back = await story_now(runtime, story.id)
        assert (back.status, back.assignee) == (StoryStatus.READY, None)
        moved = [e for e in await events_about(runtime, story.id) if e.payload.get("to") == "ready"]
        assert moved[-1].payload["agent_id"] == run.id
        assert "failed" in moved[-1].payload["detail"]

    async def test_an_agent_that_could_not_start_gives_the_story_back(
        self, runtime: Runtime, repo: Path
    ) -> None:
        story = await new_story(runtime)
        run = await start(runtime, repo, story.id, base_ref="no-such-branch")

        ended = await execute_agent(runtime, run.id, lambda _run: ScriptedProvider([]))

        assert ended.state is AgentState.FAILED
        assert ended.failure_reason is not None
        assert ended.failure_reason.startswith("could not start")
        back = await story_now(runtime, story.id)
        assert (back.status, back.assignee) == (StoryStatus.READY, None)

    async def test_an_agent_reporting_blocked_blocks_the_story_with_its_reason(
        self, runtime: Runtime, repo: Path
    ) -> None:
        story = await new_story(runtime)
        agent = AgentRunner(
            runtime, ScriptedProvider([finish("blocked", "The database password is missing.")])
        )
        await agent.start(repo=repo, story=story.id)

        run = await agent.drive()

        assert run.state is AgentState.FAILED
        back = await story_now(runtime, story.id)
        assert (back.status, back.assignee) == (StoryStatus.BLOCKED, None)
        events = await events_about(runtime, story.id)
        blocked = [e for e in events if e.payload.get("to") == "blocked"]
        assert blocked[-1].payload["detail"] == "The database password is missing."

    async def test_cancelling_a_queued_agent_returns_its_story(
        self, runtime: Runtime, repo: Path
    ) -> None:
        story = await new_story(runtime, StoryStatus.READY)
        run = await start(runtime, repo, story.id)

        await service.cancel(runtime.uow(), run.id, Actor.local_cli())

        back = await story_now(runtime, story.id)
        assert (back.status, back.assignee) == (StoryStatus.READY, None)

    async def test_cancelling_a_running_agent_in_the_job_runner_returns_its_story(
        self, runtime: Runtime, repo: Path
    ) -> None:
        story = await new_story(runtime)
        run = await start(runtime, repo, story.id, enqueue=True)
        slow = SlowProvider(ScriptedProvider(FIX_AND_COMMIT), seconds=30)
        job = asyncio.create_task(run_agent_here(runtime, run.id, lambda _run: slow))
        await asyncio.wait_for(slow.called.wait(), HANG_GUARD)

        await service.cancel(runtime.uow(), run.id, Actor.local_cli())
        await asyncio.wait_for(job, HANG_GUARD)

        ended = await service.get_agent(runtime.uow(read_only=True), run.id)
        assert ended.state is AgentState.CANCELLED
        back = await story_now(runtime, story.id)
        assert (back.status, back.assignee) == (StoryStatus.READY, None)

    async def test_a_sub_agents_end_leaves_its_parents_story_alone(
        self, runtime: Runtime, repo: Path
    ) -> None:
        story = await new_story(runtime)
        parent = await start(runtime, repo, story.id)
        child = await service.create_sub_agent(
            runtime.uow(),
            runtime.settings,
            parent,
            "explorer",
            "Look around",
            None,
            call_id="toolu_look_around",
        )

        await service.cancel(runtime.uow(), child.id, Actor.local_cli())

        kept = await story_now(runtime, story.id)
        assert (kept.status, kept.assignee) == (StoryStatus.IN_PROGRESS, f"agent:{parent.id}")

    async def test_a_story_moved_on_by_hand_keeps_its_status_when_the_agent_fails(
        self, runtime: Runtime, repo: Path
    ) -> None:
        story = await new_story(runtime)
        run = await start(runtime, repo, story.id)
        await stories.update_story(
            runtime.uow(), story.id, StoryChanges(status=StoryStatus.REVIEW), Actor.local_cli()
        )

        await service.cancel(runtime.uow(), run.id, Actor.local_cli())

        kept = await story_now(runtime, story.id)
        assert (kept.status, kept.assignee) == (StoryStatus.REVIEW, None)


@pytest.fixture
def cli(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cli]:
    yield from make_cli(db_url, tmp_path, monkeypatch)


class TestTheCliAndTheApi:
    def test_the_cli_refuses_a_second_start_with_the_agents_id_unless_forced(
        self, cli: Cli, repo: Path
    ) -> None:
        created = cli("story", "create", "--title", "Addition adds")
        assert created.exit_code == 0, created.stderr
        story = created.stdout.strip()
        command = [
            "agent", "start", "story-developer", "--task", "Fix add", "--repo", str(repo),
            "--story", story, "--provider", "openai", "--model", "gpt-4o-mini",
        ]  # fmt: skip
        first = cli(*command)
        assert first.exit_code == 0, first.stderr

        again = cli(*command)
        forced = cli(*command, "--force")

        assert again.exit_code == 1
        assert f"Agent {first.stdout.strip()}" in again.stderr
        assert "--force" in again.stderr
        assert "Traceback" not in again.stderr
        assert forced.exit_code == 0, forced.stderr
        assert forced.stdout.strip() != first.stdout.strip()

    async def test_the_api_answers_409_naming_the_agent_and_force_starts_anyway(
        self, api: httpx.AsyncClient, tokens: dict[Role, str], runtime: Runtime, repo: Path
    ) -> None:
        story = await new_story(runtime)
        body = {
            "type": "story-developer",
            "task": "Fix add",
            "story_id": story.id,
            "repo": str(repo),
            "provider": "openai",
            "model": "gpt-4o-mini",
        }
        headers = bearer(tokens[Role.OPERATOR])
        first = await api.post("/api/agents", json=body, headers=headers)
        assert first.status_code == 201, first.text

        again = await api.post("/api/agents", json=body, headers=headers)
        forced = await api.post("/api/agents", json={**body, "force": True}, headers=headers)

        assert again.status_code == 409
        assert again.headers["content-type"] == "application/problem+json"
        assert again.json()["agent_id"] == first.json()["id"]
        assert first.json()["id"] in again.json()["detail"]
        assert forced.status_code == 201, forced.text

    async def test_the_api_refuses_a_done_story_with_409(
        self, api: httpx.AsyncClient, tokens: dict[Role, str], runtime: Runtime, repo: Path
    ) -> None:
        story = await new_story(runtime, *TO_DONE)
        body = {
            "type": "story-developer",
            "task": "Fix add",
            "story_id": story.id,
            "repo": str(repo),
            "provider": "openai",
            "model": "gpt-4o-mini",
        }

        refused = await api.post("/api/agents", json=body, headers=bearer(tokens[Role.OPERATOR]))

        assert refused.status_code == 409
        assert "is done" in refused.json()["detail"]
