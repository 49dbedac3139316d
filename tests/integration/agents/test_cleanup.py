"""``agent cleanup`` on a tree: finished sub-agents' worktrees go, unfinished ones stay.

Real git worktrees, scripted models, SQLite and PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

from orchestrate.agents import service
from orchestrate.agents.execution import execute_agent
from orchestrate.agents.models import AgentRun, AgentState
from orchestrate.auth.service import Actor
from orchestrate.core.runtime import Runtime
from orchestrate.testing.scripted import ScriptedProvider, finish, tool_call
from tests.integration.agents.conftest import AgentRunner, git


async def child_of(runtime: Runtime, parent: AgentRun, task: str) -> AgentRun:
    return await service.create_sub_agent(
        runtime.uow(), runtime.settings, parent, "story-developer", task, None
    )


async def run_with(runtime: Runtime, agent: AgentRun, provider: ScriptedProvider) -> AgentRun:
    return await execute_agent(runtime, agent.id, lambda _run: provider)


class TestCleanupOfSubAgents:
    async def test_finished_children_lose_their_worktrees_and_unfinished_ones_keep_them(
        self, runtime: Runtime, repo: Path
    ) -> None:
        runtime.settings = runtime.settings.model_copy(update={"approval_tools": ["bash"]})
        root = AgentRunner(runtime, ScriptedProvider([finish("completed", "delegated")]))
        await root.start(agent_type="bmad-orchestrator", repo=repo)
        parent = await root.drive()
        done = await run_with(
            runtime,
            await child_of(runtime, parent, "Fix add"),
            ScriptedProvider(
                [
                    tool_call(
                        "edit_file",
                        {"path": "calc.py", "old_string": "a - b", "new_string": "a + b"},
                    ),
                    tool_call("git", {"action": "add", "paths": ["calc.py"]}),
                    tool_call("git", {"action": "commit", "message": "Fix add"}),
                    finish("completed", "fixed"),
                ]
            ),
        )
        waiting = await run_with(
            runtime,
            await child_of(runtime, parent, "Run the tests"),
            ScriptedProvider([tool_call("bash", {"command": "python -m pytest -q"})]),
        )
        assert done.state is AgentState.COMPLETED, done.failure_reason
        assert waiting.state is AgentState.WAITING_FOR_APPROVAL
        assert (done.parent_id, waiting.parent_id) == (parent.id, parent.id)
        assert done.workspace_path is not None
        assert waiting.workspace_path is not None
        assert done.branch is not None

        removed = await service.cleanup_workspaces(runtime.uow(), Actor.local_cli())

        assert done.id in {agent_id for agent_id, _ in removed}
        assert waiting.id not in {agent_id for agent_id, _ in removed}
        assert not Path(done.workspace_path).exists()
        assert done.workspace_path not in git(repo, "worktree", "list")
        assert "a + b" in git(repo, "show", f"{done.branch}:calc.py")  # the branch stays
        assert Path(waiting.workspace_path).is_dir()
        after = await service.get_agent(runtime.uow(read_only=True), done.id)
        assert after.workspace_path is None
        kept = await service.get_agent(runtime.uow(read_only=True), waiting.id)
        assert kept.workspace_path == waiting.workspace_path
