"""finish, spawn_agent, and how an allowlist selects tools."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from orchestrate.agents.models import FinishStatus
from orchestrate.agents.tools.base import ToolContext, ToolInputError
from orchestrate.agents.tools.control import Finish, SpawnAgent, parse_finish
from orchestrate.agents.tools.registry import BUILTIN_TOOLS, tools_for
from orchestrate.core.errors import ConfigurationError, NotFound
from tests.unit.agents.tools.support import call, make_context


class TestFinish:
    async def test_a_valid_finish_echoes_status_and_summary(self, context: ToolContext) -> None:
        result = await call(Finish(), context, status="blocked", summary="CI is red on main")
        assert not result.is_error
        assert result.content == "Finished (blocked): CI is red on main"

    async def test_an_unknown_status_lists_the_allowed_ones(self, context: ToolContext) -> None:
        result = await call(Finish(), context, status="done", summary="ok")
        assert result.is_error
        assert "'completed', 'blocked' or 'needs_input'" in result.content

    async def test_a_blank_summary_is_refused(self) -> None:
        with pytest.raises(ToolInputError, match="summary"):
            parse_finish({"status": "completed", "summary": "   "})

    def test_the_loop_reads_the_status_as_a_finish_status(self) -> None:
        report = parse_finish({"status": "needs_input", "summary": "Which database?"})
        assert report.status is FinishStatus.NEEDS_INPUT


class TestSpawnAgent:
    async def test_the_child_summary_is_returned_and_the_budget_is_exact(
        self, workspace: Path
    ) -> None:
        calls: list[tuple[str, str, Decimal | None]] = []

        async def spawn(agent_type: str, task: str, budget: Decimal | None) -> str:
            calls.append((agent_type, task, budget))
            return "Reviewed: two issues"

        context = make_context(workspace, spawn=spawn)
        result = await call(
            SpawnAgent(), context, type="reviewer", task="Review the diff", max_cost_usd=0.1
        )
        assert result.content == "Reviewed: two issues"
        assert calls == [("reviewer", "Review the diff", Decimal("0.1"))]

    async def test_without_a_spawner_it_says_spawning_is_unavailable(
        self, context: ToolContext
    ) -> None:
        result = await call(SpawnAgent(), context, type="reviewer", task="x")
        assert result.is_error
        assert "spawning sub-agents is not available here" in result.content

    async def test_a_spawn_refusal_reaches_the_model_as_an_error(self, workspace: Path) -> None:
        async def spawn(agent_type: str, task: str, budget: Decimal | None) -> str:
            raise NotFound(f"No agent type '{agent_type}'")

        result = await call(SpawnAgent(), make_context(workspace, spawn=spawn), type="x", task="t")
        assert result.is_error
        assert "No agent type 'x'" in result.content


class TestAllowlist:
    def test_every_builtin_tool_is_registered_under_its_spec_name(self) -> None:
        assert sorted(BUILTIN_TOOLS) == sorted(
            [
                "read_file",
                "write_file",
                "edit_file",
                "list_files",
                "grep",
                "bash",
                "git",
                "spawn_agent",
                "finish",
            ]
        )
        assert all(name == tool.spec.name for name, tool in BUILTIN_TOOLS.items())

    def test_finish_is_always_granted_last(self) -> None:
        names = [tool.spec.name for tool in tools_for(["read_file", "grep"])]
        assert names == ["read_file", "grep", "finish"]

    def test_claude_code_names_map_to_ours_once_each(self) -> None:
        names = [
            tool.spec.name
            for tool in tools_for(["Read", "Write", "Edit", "Glob", "Grep", "Bash", "read"])
        ]
        assert names == [
            "read_file",
            "write_file",
            "edit_file",
            "list_files",
            "grep",
            "bash",
            "finish",
        ]

    def test_unknown_names_are_all_named_with_a_suggestion(self) -> None:
        with pytest.raises(ConfigurationError) as raised:
            tools_for(["read_fiel", "WebFetch", "bash"])
        assert "'read_fiel' (did you mean 'read_file'?)" in raised.value.message
        assert "'WebFetch'" in raised.value.message
        assert raised.value.context["unknown"] == ["read_fiel", "WebFetch"]
