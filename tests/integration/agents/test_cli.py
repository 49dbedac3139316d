"""``orchestrate agent …`` in process, on a test database, against real git repositories."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from orchestrate.agents.models import AgentRun, AgentState
from orchestrate.auth.service import Actor
from orchestrate.core.runtime import Runtime
from orchestrate.core.settings import Settings
from orchestrate.stories import service as stories
from orchestrate.stories.models import StoryDraft
from orchestrate.testing.scripted import ScriptedProvider, Step, finish, tool_call
from tests.integration.agents.conftest import AgentRunner, git
from tests.integration.cli.support import Cli, make_cli

BUILT_IN_TYPES = 16

READ_AND_FINISH = [
    tool_call("read_file", {"path": "calc.py"}),
    tool_call("grep", {"pattern": "def add"}),
    finish("completed", "add() subtracts; it should add."),
]
FIX_AND_COMMIT = [
    tool_call("edit_file", {"path": "calc.py", "old_string": "a - b", "new_string": "a + b"}),
    tool_call("git", {"action": "add", "paths": ["calc.py"]}),
    tool_call("git", {"action": "commit", "message": "Fix add"}),
    finish("completed", "add() now adds."),
]
WANTS_BASH = [tool_call("bash", {"command": "echo hi"}), finish("completed", "said hi")]


@pytest.fixture
def cli(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cli]:
    yield from make_cli(db_url, tmp_path, monkeypatch)


def drive(
    settings: Settings,
    repo: Path,
    script: Sequence[Step],
    *,
    agent_type: str = "story-developer",
    story_title: str | None = None,
    approval_tools: tuple[str, ...] = (),
) -> AgentRun:
    """Start an agent on ``repo`` and run it with a scripted model until it stops."""

    async def main() -> AgentRun:
        runtime = Runtime.open(settings.model_copy(update={"approval_tools": list(approval_tools)}))
        try:
            story = None
            if story_title:
                draft = StoryDraft(title=story_title)
                story = (await stories.create_story(runtime.uow(), draft, Actor.local_cli())).id
            agent = AgentRunner(runtime, ScriptedProvider(script))
            await agent.start(agent_type=agent_type, task="Fix add", repo=repo, story=story)
            return await agent.drive()
        finally:
            await runtime.close()

    return asyncio.run(main())


def start_command(
    repo: Path, agent_type: str = "explorer", task: str = "Why?", provider: str | None = "openai"
) -> list[str]:
    """``agent start`` on ``repo``; ``provider=None`` leaves the configured default."""
    provider_option = ["--provider", provider, "--model", "gpt-4o-mini"] if provider else []
    return ["agent", "start", agent_type, "--task", task, "--repo", str(repo), *provider_option]


def start(cli: Cli, repo: Path) -> str:
    result = cli(*start_command(repo))
    assert result.exit_code == 0, result.stderr
    return result.stdout.strip()


def show(cli: Cli, agent_id: str) -> dict[str, Any]:
    result = cli("agent", "show", agent_id, "--json")
    assert result.exit_code == 0, result.stderr
    agent: dict[str, Any] = json.loads(result.stdout)
    return agent


class TestTypes:
    def test_the_table_lists_the_types_with_their_tools(self, cli: Cli) -> None:
        result = cli("agent", "types")

        assert result.exit_code == 0
        assert "story-developer" in result.stdout
        assert "code-reviewer" in result.stdout
        assert "spawn_agent" in result.stdout

    def test_json_lists_the_sixteen_built_in_types_with_their_sources(self, cli: Cli) -> None:
        result = cli("agent", "types", "--json")

        assert result.exit_code == 0
        types = json.loads(result.stdout)
        assert len(types) == BUILT_IN_TYPES
        assert all(Path(t["source"]).name == f"{t['name']}.md" for t in types)

    def test_a_repository_agent_type_is_listed_with_its_file(self, cli: Cli, repo: Path) -> None:
        agents = repo / ".orchestrate" / "agents"
        agents.mkdir(parents=True)
        (agents / "release-notes.md").write_text(
            "---\nname: release-notes\ndescription: Notes.\ntools: read_file\n---\nWrite notes.\n"
        )

        result = cli("agent", "types", "--repo", str(repo), "--json")

        by_name = {t["name"]: t for t in json.loads(result.stdout)}
        assert len(by_name) == BUILT_IN_TYPES + 1
        assert by_name["release-notes"]["source"] == str(agents / "release-notes.md")


class TestStart:
    def test_start_prints_only_the_new_agents_id(self, cli: Cli, repo: Path) -> None:
        result = cli(*start_command(repo, task="Where is add?"))

        assert result.exit_code == 0, result.stderr
        assert result.stdout.count("\n") == 1
        agent = show(cli, result.stdout.strip())
        assert agent["state"] == "created"
        assert agent["repo_path"] == str(repo.resolve())
        assert agent["task"] == "Where is add?"

    def test_an_unknown_type_fails_and_names_the_types_there_are(
        self, cli: Cli, repo: Path
    ) -> None:
        result = cli(*start_command(repo, agent_type="story-develper"))

        assert result.exit_code == 1
        assert "No agent type 'story-develper'" in result.stderr
        assert "code-reviewer" in result.stderr
        assert "Did you mean 'story-developer'?" in result.stderr
        assert result.stdout == ""

    def test_a_repo_that_is_not_a_git_repository_is_a_usage_error(
        self, cli: Cli, tmp_path: Path
    ) -> None:
        plain = tmp_path / "plain"
        plain.mkdir()

        result = cli(*start_command(plain))

        assert result.exit_code == 2
        assert "not the top of a git repository" in result.stderr
        assert json.loads(cli("agent", "list", "--json").stdout) == []

    def test_stuck_repeats_is_kept_in_the_runs_limits(self, cli: Cli, repo: Path) -> None:
        result = cli(*start_command(repo), "--stuck-repeats", "7")

        assert result.exit_code == 0, result.stderr
        assert show(cli, result.stdout.strip())["limits"]["stuck_repeats"] == 7

    def test_fewer_than_two_stuck_repeats_is_a_usage_error(self, cli: Cli, repo: Path) -> None:
        result = cli(*start_command(repo), "--stuck-repeats", "1")

        assert result.exit_code == 2
        assert "--stuck-repeats" in result.stderr
        assert "greater than or equal" in " ".join(result.stderr.split())
        assert json.loads(cli("agent", "list", "--json").stdout) == []

    def test_an_unknown_provider_is_a_usage_error_naming_the_providers(
        self, cli: Cli, repo: Path
    ) -> None:
        result = cli(*start_command(repo, provider="gemini"))

        assert result.exit_code == 2
        assert "choose one of anthropic, openai, replay" in result.stderr

    def test_a_missing_provider_key_is_a_usage_error_naming_the_variable(
        self, cli: Cli, repo: Path
    ) -> None:
        result = cli(
            *start_command(repo, provider=None),
            env={"ANTHROPIC_API_KEY": None, "ANTHROPIC_AUTH_TOKEN": None},
        )

        assert result.exit_code == 2
        assert "ANTHROPIC_API_KEY is not set" in result.stderr


class TestListAndShow:
    def test_list_json_is_newest_first(self, cli: Cli, repo: Path) -> None:
        ids = [start(cli, repo) for _ in range(3)]

        result = cli("agent", "list", "--json")

        assert result.exit_code == 0
        assert [a["id"] for a in json.loads(result.stdout)] == ids[::-1]

    def test_list_filters_by_state(self, cli: Cli, repo: Path) -> None:
        kept, cancelled = start(cli, repo), start(cli, repo)
        cli("agent", "cancel", cancelled)

        created = json.loads(cli("agent", "list", "--state", "created", "--json").stdout)

        assert [a["id"] for a in created] == [kept]

    def test_show_json_reports_what_a_finished_run_did(
        self, cli: Cli, settings: Settings, repo: Path
    ) -> None:
        run = drive(settings, repo, FIX_AND_COMMIT, story_title="Addition adds")

        agent = show(cli, run.id)

        assert agent["state"] == "completed"
        assert agent["type"] == "story-developer"
        assert agent["story_id"] == run.story_id is not None
        assert agent["branch"].startswith("orchestrate/story-developer-fix-add")
        assert agent["turns"] == len(FIX_AND_COMMIT)
        assert agent["total_tokens"] == 120 * len(FIX_AND_COMMIT)  # 100 in + 20 out a call
        assert agent["cost_usd"] == "0.000000"  # the scripted model has no price
        assert agent["summary"] == "add() now adds."

    def test_show_prints_the_fields_for_a_person(
        self, cli: Cli, settings: Settings, repo: Path
    ) -> None:
        run = drive(settings, repo, READ_AND_FINISH, agent_type="explorer")

        result = cli("agent", "show", run.id)

        assert result.exit_code == 0
        assert "completed" in result.stdout
        assert "add() subtracts; it should add." in result.stdout

    def test_an_unknown_agent_fails_with_exit_1(self, cli: Cli) -> None:
        result = cli("agent", "show", "agent_nope")

        assert result.exit_code == 1
        assert "agent_nope" in result.stderr


class TestSteering:
    def test_a_created_agent_is_cancelled_at_once(self, cli: Cli, repo: Path) -> None:
        agent_id = start(cli, repo)

        result = cli("agent", "cancel", agent_id)

        assert result.exit_code == 0
        assert f"Agent {agent_id}: cancelled" in result.stderr
        assert show(cli, agent_id)["state"] == "cancelled"

    def test_resuming_a_cancelled_agent_fails_and_says_what_state_it_is_in(
        self, cli: Cli, repo: Path
    ) -> None:
        agent_id = start(cli, repo)
        cli("agent", "cancel", agent_id)

        result = cli("agent", "resume", agent_id)

        assert result.exit_code == 1
        assert f"Agent {agent_id} is cancelled" in result.stderr
        assert show(cli, agent_id)["state"] == "cancelled"

    def test_an_agent_waiting_for_approval_runs_on_when_approved(
        self, cli: Cli, settings: Settings, repo: Path
    ) -> None:
        waiting = drive(settings, repo, WANTS_BASH, approval_tools=("bash",))
        assert waiting.state is AgentState.WAITING_FOR_APPROVAL

        result = cli("agent", "approve", waiting.id)

        assert result.exit_code == 0
        assert f"Agent {waiting.id}: running" in result.stderr

    def test_an_agent_denied_with_a_reason_runs_on_and_the_reason_is_audited(
        self, cli: Cli, settings: Settings, repo: Path
    ) -> None:
        waiting = drive(settings, repo, WANTS_BASH, approval_tools=("bash",))

        result = cli("agent", "deny", waiting.id, "--reason", "Say it with echo later")

        assert result.exit_code == 0, result.stderr
        assert f"Agent {waiting.id}: running" in result.stderr
        audit = cli("audit", "list", "--subject", waiting.id, "--json")
        assert audit.exit_code == 0, audit.stderr
        assert '"reason": "Say it with echo later"' in audit.stdout


class TestLogs:
    def test_logs_show_each_tool_call_and_its_result(
        self, cli: Cli, settings: Settings, repo: Path
    ) -> None:
        run = drive(settings, repo, READ_AND_FINISH, agent_type="explorer")

        result = cli("agent", "logs", run.id)

        assert result.exit_code == 0
        out = result.stdout
        assert "Fix add" in out  # the task
        assert out.index("read_file") < out.index("return a - b") < out.index("grep")
        assert "finish" in out
        assert "add() subtracts; it should add." in out

    def test_logs_json_prints_one_message_object_per_line(
        self, cli: Cli, settings: Settings, repo: Path
    ) -> None:
        run = drive(settings, repo, READ_AND_FINISH, agent_type="explorer")

        result = cli("agent", "logs", run.id, "--json")

        assert result.exit_code == 0
        messages = [json.loads(line) for line in result.stdout.splitlines()]
        assert [m["seq"] for m in messages] == sorted(m["seq"] for m in messages)
        assert messages[0]["role"] == "user"
        uses = [b["name"] for m in messages for b in m["content"] if b["type"] == "tool_use"]
        assert uses == ["read_file", "grep", "finish"]

    def test_logs_of_an_unknown_agent_fail(self, cli: Cli) -> None:
        result = cli("agent", "logs", "agent_nope")

        assert result.exit_code == 1


class TestCleanup:
    def test_cleanup_removes_a_finished_agents_worktree_and_keeps_its_branch(
        self, cli: Cli, settings: Settings, repo: Path
    ) -> None:
        run = drive(settings, repo, FIX_AND_COMMIT)
        assert run.workspace_path is not None
        assert run.branch is not None
        assert Path(run.workspace_path).is_dir()

        result = cli("agent", "cleanup")

        assert result.exit_code == 0
        assert "Removed 1 worktree(s)" in result.stderr
        assert not Path(run.workspace_path).exists()
        assert "a + b" in git(repo, "show", f"{run.branch}:calc.py")
        assert run.workspace_path not in git(repo, "worktree", "list")
        assert show(cli, run.id)["workspace_path"] is None

    def test_cleanup_leaves_agents_that_are_not_finished_alone(
        self, cli: Cli, settings: Settings, repo: Path
    ) -> None:
        waiting = drive(settings, repo, WANTS_BASH, approval_tools=("bash",))
        paused = drive(settings, repo, WANTS_BASH, approval_tools=("bash",))
        running = drive(settings, repo, WANTS_BASH, approval_tools=("bash",))
        cli("agent", "pause", paused.id)
        cli("agent", "approve", running.id)  # queued again, no worker has it yet
        states = {a: show(cli, a.id)["state"] for a in (waiting, paused, running)}
        assert list(states.values()) == ["waiting_for_approval", "paused", "running"]

        result = cli("agent", "cleanup", "--json")

        assert result.exit_code == 0
        assert json.loads(result.stdout) == []
        for agent in (waiting, paused, running):
            assert agent.workspace_path is not None
            assert Path(agent.workspace_path).is_dir()
            assert show(cli, agent.id)["workspace_path"] == agent.workspace_path

    def test_a_second_cleanup_has_nothing_to_remove(
        self, cli: Cli, settings: Settings, repo: Path
    ) -> None:
        drive(settings, repo, READ_AND_FINISH, agent_type="explorer")
        cli("agent", "cleanup")

        result = cli("agent", "cleanup")

        assert result.exit_code == 0
        assert "Removed 0 worktree(s)" in result.stderr


def drive_tree(settings: Settings, repo: Path) -> str:
    """A delegator whose task is written in brackets spawns two workers; returns its id."""
    from tests.integration.agents.tree_support import TreeWorker, add_tree_types, start_root

    add_tree_types(repo)
    scripts: dict[str, Sequence[Step]] = {
        "[lead] split the work": [
            tool_call("spawn_agent", {"type": "worker", "task": "[w1] first half"}),
            tool_call("spawn_agent", {"type": "worker", "task": "[w2] second half"}),
            finish("completed", "both halves done"),
        ],
        "[w1] first half": [finish("completed", "first half done")],
        "[w2] second half": [finish("completed", "second half done")],
    }

    async def main() -> str:
        runtime = Runtime.open(settings)
        try:
            root = await start_root(runtime, repo, "[lead] split the work")
            await TreeWorker(runtime, scripts).run_until_idle()
            return root.id
        finally:
            await runtime.close()

    return asyncio.run(main())


class TestTrees:
    def test_list_tree_draws_each_sub_agent_under_its_parent_verbatim(
        self, cli: Cli, settings: Settings, repo: Path
    ) -> None:
        root_id = drive_tree(settings, repo)

        result = cli("agent", "list", "--tree")

        assert result.exit_code == 0, result.stderr
        lines = result.stdout.splitlines()
        (root_line,) = [n for n, line in enumerate(lines) if root_id in line]
        assert "[lead] split the work" in lines[root_line]
        assert "completed" in lines[root_line]
        below = lines[root_line + 1 : root_line + 3]
        assert ["[w1] first half" in below[0], "[w2] second half" in below[1]] == [True, True]
        assert all(line.lstrip().startswith(("├", "└")) for line in below)
        assert sum(root_id in line for line in lines) == 1, "children are not listed twice"

    def test_show_json_lists_parent_children_and_tree_totals(
        self, cli: Cli, settings: Settings, repo: Path
    ) -> None:
        root_id = drive_tree(settings, repo)

        root = show(cli, root_id)
        children = [show(cli, child["id"]) for child in root["children"]]

        assert root["parent_id"] is None
        assert [c["state"] for c in root["children"]] == ["completed", "completed"]
        assert [c["parent_id"] for c in children] == [root_id, root_id]
        assert [c["children"] for c in children] == [[], []]
        assert root["turns"] == 3
        assert root["tree"]["turns"] == 3 + 1 + 1
        assert root["waiting_on"] == []
