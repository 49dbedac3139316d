"""Reading agent types from Markdown with YAML front matter, and the sixteen built-ins."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from orchestrate.agents.definitions import ALL_TOOLS, builtin_definitions, parse_definition
from orchestrate.agents.models import AgentDefinition
from orchestrate.core.errors import ValidationFailed

SOURCE = Path("agents/reviewer.md")

ROLES = {
    "autonomous-controller",
    "bmad-orchestrator",
    "bmad-planner",
    "code-reviewer",
    "conflict-resolver",
    "deployer",
    "doc-generator",
    "explorer",
    "incident-responder",
    "issue-fixer",
    "pr-controller",
    "pr-shepherd",
    "scheduler",
    "security-scanner",
    "story-developer",
    "test-generator",
}
KNOWN_TOOLS = {*ALL_TOOLS, "finish"}
WRITE_TOOLS = {"write_file", "edit_file"}
FILE_TOOLS = {"read_file", "write_file", "edit_file", "list_files", "grep"}


def definition_text(front: str = "", body: str = "You review code.\n") -> str:
    """A definition file: ``name`` and ``description`` first, then ``front``, then ``body``."""
    return f"---\nname: reviewer\ndescription: Reviews diffs.\n{front}---\n{body}"


def parse(text: str) -> AgentDefinition:
    return parse_definition(text, SOURCE)


def builtin(name: str) -> AgentDefinition:
    return next(definition for definition in builtin_definitions() if definition.name == name)


class TestParsing:
    def test_front_matter_and_body_become_a_definition(self) -> None:
        text = definition_text(
            "tools: [read_file, grep]\nmodel: claude-opus-4-1\nprovider: anthropic\n"
            "max_turns: 30\nmax_cost_usd: 2.50\nmax_tokens: 200000\nmax_wall_minutes: 45\n",
            body="\nYou review code.\n\nBe precise.\n\n",
        )
        definition = parse(text)
        assert definition == AgentDefinition(
            name="reviewer",
            description="Reviews diffs.",
            system_prompt="You review code.\n\nBe precise.",
            tools=("read_file", "grep"),
            source=SOURCE,
            model="claude-opus-4-1",
            provider="anthropic",
            max_turns=30,
            max_cost_usd=Decimal("2.50"),
            max_tokens=200_000,
            max_wall_minutes=45.0,
        )

    def test_claude_style_comma_separated_tools_are_split(self) -> None:
        definition = parse(definition_text("tools: Read, Grep,Glob , Bash\n"))
        assert definition.tools == ("Read", "Grep", "Glob", "Bash")

    def test_a_tool_listed_twice_is_kept_once(self) -> None:
        assert parse(definition_text("tools: [grep, read_file, grep]\n")).tools == (
            "grep",
            "read_file",
        )

    def test_a_definition_without_tools_may_use_every_tool(self) -> None:
        assert parse(definition_text()).tools == ALL_TOOLS

    def test_an_empty_tools_list_allows_no_tool_but_finish(self) -> None:
        assert parse(definition_text("tools: []\n")).tools == ()

    def test_unknown_keys_are_kept_in_extra(self) -> None:
        definition = parse(definition_text("color: blue\npriority: 3\n"))
        assert definition.extra == {"color": "blue", "priority": 3}

    def test_limits_and_model_default_to_none(self) -> None:
        definition = parse(definition_text())
        assert (definition.model, definition.provider, definition.max_turns) == (None,) * 3
        assert (definition.max_cost_usd, definition.max_tokens) == (None, None)
        assert definition.max_wall_minutes is None
        assert definition.stuck_repeats is None

    def test_stuck_repeats_sets_how_many_repeats_are_a_loop(self) -> None:
        assert parse(definition_text("stuck_repeats: 8\n")).stuck_repeats == 8

    def test_claude_model_inherit_means_the_configured_default(self) -> None:
        assert parse(definition_text("model: inherit\n")).model is None

    def test_a_cost_written_as_a_float_is_kept_exact(self) -> None:
        assert parse(definition_text("max_cost_usd: 0.1\n")).max_cost_usd == Decimal("0.1")

    def test_a_cost_may_be_quoted(self) -> None:
        assert parse(definition_text('max_cost_usd: "3"\n')).max_cost_usd == Decimal(3)

    def test_the_source_path_is_kept_even_when_its_stem_differs_from_the_name(self) -> None:
        definition = parse_definition(definition_text(), Path("x/anything-else.md"))
        assert (definition.name, definition.source) == ("reviewer", Path("x/anything-else.md"))

    def test_a_byte_order_mark_and_windows_line_endings_are_accepted(self) -> None:
        text = "\ufeff" + definition_text("max_turns: 5\n").replace("\n", "\r\n")
        definition = parse(text)
        assert (definition.max_turns, definition.system_prompt) == (5, "You review code.")

    def test_a_multi_line_description_is_read_whole(self) -> None:
        text = "---\nname: reviewer\ndescription: >\n  Reviews diffs\n  carefully.\n---\nBody\n"
        assert parse(text).description == "Reviews diffs carefully."


class TestInvalidFiles:
    @pytest.mark.parametrize(
        ("text", "line", "problem"),
        [
            ("You review code.\n", 1, "no front matter"),
            ("", 1, "no front matter"),
            ("---\nname: reviewer\n", 1, "never closed"),
            ("---\nname: reviewer\ndescription: [a\n---\nBody\n", 3, "invalid YAML"),
            ("---\nname: a\nname: b\n---\nBody\n", 3, "invalid YAML"),
            ("---\nname: r\ndescription: d\nmax_turns: 3\n  bad: 1\n---\nB\n", 5, "invalid YAML"),
            ("---\n- reviewer\n---\nBody\n", 2, "must be a mapping"),
            ("---\ndescription: Reviews.\n---\nBody\n", 1, "missing 'name'"),
            ("---\nname: reviewer\n---\nBody\n", 1, "missing 'description'"),
            ("---\nname: Code Reviewer\ndescription: d\n---\nB\n", 2, "lowercase letters"),
            ("---\nname: reviewer-\ndescription: d\n---\nB\n", 2, "lowercase letters"),
            ("---\nname: 42\ndescription: d\n---\nB\n", 2, "name must be text, got 42"),
            ("---\nname: r\ndescription: '  '\n---\nB\n", 3, "description is empty"),
            ("---\nname: r\ndescription: [a, b]\n---\nB\n", 3, "description must be text"),
        ],
    )
    def test_structural_problems_name_file_and_line(
        self, text: str, line: int, problem: str
    ) -> None:
        with pytest.raises(ValidationFailed) as refused:
            parse(text)
        assert str(refused.value).startswith(f"{SOURCE}:{line}: ")
        assert problem in str(refused.value)

    @pytest.mark.parametrize(
        ("front", "problem"),
        [
            ("max_turns: 0\n", "max_turns must be a positive integer, got 0"),
            ("max_turns: ten\n", "max_turns must be a positive integer, got 'ten'"),
            ("max_turns: 2.5\n", "max_turns must be a positive integer"),
            ("max_turns: true\n", "max_turns must be a positive integer, got True"),
            ("max_tokens: -1\n", "max_tokens must be a positive integer"),
            ("max_cost_usd: 0\n", "max_cost_usd must be a positive amount"),
            ("max_cost_usd: -2\n", "max_cost_usd must be a positive amount"),
            ("max_cost_usd: lots\n", "max_cost_usd must be a positive amount"),
            ("max_cost_usd: .inf\n", "max_cost_usd must be a positive amount"),
            ("max_cost_usd: [1]\n", "max_cost_usd must be a positive amount"),
            ("max_wall_minutes: 0\n", "max_wall_minutes must be a positive number"),
            ("max_wall_minutes: soon\n", "max_wall_minutes must be a positive number"),
            ("stuck_repeats: 1\n", "stuck_repeats must be an integer of at least 2"),
            ("stuck_repeats: 0\n", "counts as a loop), got 0"),
            ("stuck_repeats: many\n", "stuck_repeats must be an integer of at least 2"),
            ("stuck_repeats: true\n", "stuck_repeats must be an integer of at least 2"),
            ("tools: 5\n", "tools must be a list of tool names"),
            ("tools: [read_file, 7]\n", "tools must be a list of tool names"),
            ("tools: {read_file: yes}\n", "tools must be a list of tool names"),
            ("tools:\n", "tools must be a list of tool names"),
            ("tools: [read file]\n", "'read file' is not a tool name"),
            ("model: [a]\n", "model must be text"),
            ("provider: ''\n", "provider is empty"),
        ],
    )
    def test_a_bad_value_names_the_line_of_its_key(self, front: str, problem: str) -> None:
        with pytest.raises(ValidationFailed) as refused:
            parse(definition_text("color: red\n" + front))
        assert str(refused.value).startswith(f"{SOURCE}:5: ")
        assert problem in str(refused.value)

    @pytest.mark.parametrize("body", ["", "\n", "\n   \n\n"])
    def test_an_empty_system_prompt_is_refused_below_the_front_matter(self, body: str) -> None:
        with pytest.raises(ValidationFailed) as refused:
            parse(definition_text(body=body))
        assert str(refused.value).startswith(f"{SOURCE}:5: no system prompt")

    def test_errors_carry_file_and_line_in_their_context(self) -> None:
        with pytest.raises(ValidationFailed) as refused:
            parse(definition_text("max_turns: 0\n"))
        assert refused.value.context == {"file": str(SOURCE), "line": 4}


class TestBuiltins:
    def test_there_are_exactly_the_sixteen_roles(self) -> None:
        assert {definition.name for definition in builtin_definitions()} == ROLES
        assert len(builtin_definitions()) == 16

    def test_each_builtin_file_is_named_after_its_role(self) -> None:
        for definition in builtin_definitions():
            assert definition.source.name == f"{definition.name}.md"

    @pytest.mark.parametrize("name", sorted(ROLES))
    def test_each_prompt_is_substantial_and_teaches_how_to_finish(self, name: str) -> None:
        prompt = builtin(name).system_prompt
        assert len(prompt.splitlines()) >= 40
        assert "`finish`" in prompt
        for status in ("`completed`", "`blocked`", "`needs_input`"):
            assert status in prompt, f"{name} does not explain when to finish {status}"

    @pytest.mark.parametrize("name", sorted(ROLES))
    def test_each_builtin_uses_only_known_tools_and_sets_its_limits(self, name: str) -> None:
        definition = builtin(name)
        assert set(definition.tools) <= KNOWN_TOOLS
        assert definition.description
        assert definition.max_turns is not None
        assert definition.max_cost_usd is not None
        assert definition.model is None  # the configured default model

    @pytest.mark.parametrize("name", ["explorer", "code-reviewer", "scheduler"])
    def test_read_only_roles_cannot_write_edit_or_run_commands(self, name: str) -> None:
        tools = set(builtin(name).tools)
        assert not tools & (WRITE_TOOLS | {"bash"})

    def test_the_code_reviewer_is_told_its_git_is_read_only(self) -> None:
        reviewer = builtin("code-reviewer")
        assert "git" in reviewer.tools
        assert "Never run\ngit commands that change anything" in reviewer.system_prompt

    @pytest.mark.parametrize(
        "name",
        ["story-developer", "issue-fixer", "test-generator", "conflict-resolver", "pr-shepherd"],
    )
    def test_roles_that_change_code_have_file_tools_bash_and_git(self, name: str) -> None:
        assert FILE_TOOLS | {"bash", "git"} <= set(builtin(name).tools)

    @pytest.mark.parametrize(
        "name",
        [
            "bmad-orchestrator",
            "autonomous-controller",
            "pr-shepherd",
            "pr-controller",
            "incident-responder",
        ],
    )
    def test_coordinating_roles_can_spawn_agents(self, name: str) -> None:
        assert "spawn_agent" in builtin(name).tools

    @pytest.mark.parametrize("name", ["bmad-orchestrator", "autonomous-controller"])
    def test_coordinators_delegate_instead_of_changing_files(self, name: str) -> None:
        assert not set(builtin(name).tools) & (WRITE_TOOLS | {"bash", "git"})

    @pytest.mark.parametrize("name", ["pr-controller", "deployer", "incident-responder"])
    def test_roles_without_their_integration_say_so_and_finish_blocked(self, name: str) -> None:
        prompt = builtin(name).system_prompt
        assert "be honest about it" in prompt
        assert "finish `blocked`" in prompt

    def test_the_story_developer_works_test_first_and_commits(self) -> None:
        prompt = builtin("story-developer").system_prompt
        assert prompt.index("Write a failing test first") < prompt.index("Make it pass")
        assert "watch it fail" in prompt
        assert "git commit" in prompt

    def test_the_issue_fixer_reproduces_then_adds_a_regression_test(self) -> None:
        prompt = builtin("issue-fixer").system_prompt
        assert prompt.index("Reproduce it") < prompt.index("Find the root cause")
        assert prompt.index("Find the root cause") < prompt.index("regression test")
