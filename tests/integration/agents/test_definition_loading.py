"""Loading agent types from the package, the Orchestrate home and a repository."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from orchestrate.agents.definitions import (
    builtin_definitions,
    get_definition,
    load_definitions,
)
from orchestrate.core.errors import NotFound, ValidationFailed

BUILTIN_NAMES = {definition.name for definition in builtin_definitions()}

CLAUDE_CODE_AGENT = """\
---
name: code-reviewer
description: Expert code review specialist. Use immediately after writing or modifying code.
tools: Read, Grep, Glob, Bash
model: sonnet
color: purple
---

You are a senior code reviewer ensuring high standards of code quality and security.
"""


def write_definition(
    folder: Path, name: str, *, file_name: str | None = None, prompt: str | None = None
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (file_name or f"{name}.md")
    body = prompt or f"Prompt of {name} from {folder}."
    path.write_text(f"---\nname: {name}\ndescription: {name} agent\n---\n{body}\n")
    return path


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "repo"
    path.mkdir()
    return path


class TestLoading:
    def test_only_the_builtins_load_when_no_folder_exists(self, home: Path) -> None:
        definitions = load_definitions(home, None)
        assert set(definitions) == BUILTIN_NAMES
        assert all(d.source.is_file() for d in definitions.values())

    def test_builtins_load_from_the_installed_package(self, home: Path) -> None:
        explorer = load_definitions(home, None)["explorer"]
        assert explorer.source.parent.name == "prompts"
        assert explorer.source.read_text(encoding="utf-8").startswith("---\nname: explorer\n")

    def test_home_and_repository_folders_add_new_types(self, home: Path, repo: Path) -> None:
        write_definition(home / "agents", "release-notes")
        write_definition(repo / ".claude" / "agents", "db-migrator")
        write_definition(repo / ".orchestrate" / "agents", "api-designer")
        definitions = load_definitions(home, repo)
        assert set(definitions) == BUILTIN_NAMES | {"release-notes", "db-migrator", "api-designer"}

    def test_later_folders_override_earlier_ones_by_name(self, home: Path, repo: Path) -> None:
        write_definition(home / "agents", "explorer", prompt="from home")
        write_definition(home / "agents", "deployer", prompt="from home")
        write_definition(home / "agents", "scheduler", prompt="from home")
        write_definition(repo / ".claude" / "agents", "deployer", prompt="from claude")
        write_definition(repo / ".claude" / "agents", "scheduler", prompt="from claude")
        orchestrate = write_definition(
            repo / ".orchestrate" / "agents", "scheduler", prompt="from orchestrate"
        )
        definitions = load_definitions(home, repo)
        assert definitions["explorer"].system_prompt == "from home"
        assert definitions["deployer"].system_prompt == "from claude"
        assert definitions["scheduler"].system_prompt == "from orchestrate"
        assert definitions["scheduler"].source == orchestrate
        assert definitions["story-developer"].source.parent.name == "prompts"

    def test_without_a_repository_only_home_overrides(self, home: Path, repo: Path) -> None:
        write_definition(repo / ".orchestrate" / "agents", "explorer", prompt="from repo")
        assert load_definitions(home, None)["explorer"].system_prompt != "from repo"

    def test_the_name_inside_the_file_wins_over_the_file_name(self, home: Path, repo: Path) -> None:
        path = write_definition(
            repo / ".orchestrate" / "agents", "explorer", file_name="our-explorer.md"
        )
        definitions = load_definitions(home, repo)
        assert definitions["explorer"].source == path
        assert "our-explorer" not in definitions

    def test_a_claude_code_agent_file_loads_with_its_own_keys(self, home: Path, repo: Path) -> None:
        folder = repo / ".claude" / "agents"
        folder.mkdir(parents=True)
        (folder / "code-reviewer.md").write_text(CLAUDE_CODE_AGENT)
        reviewer = load_definitions(home, repo)["code-reviewer"]
        assert reviewer.tools == ("Read", "Grep", "Glob", "Bash")
        assert reviewer.model == "sonnet"
        assert reviewer.extra == {"color": "purple"}
        assert reviewer.system_prompt.startswith("You are a senior code reviewer")

    def test_files_that_are_not_markdown_or_are_hidden_are_ignored(
        self, home: Path, repo: Path
    ) -> None:
        folder = repo / ".orchestrate" / "agents"
        folder.mkdir(parents=True)
        (folder / "notes.txt").write_text("not an agent")
        (folder / ".draft.md").write_text("not front matter")
        (folder / "nested.md").mkdir()
        assert set(load_definitions(home, repo)) == BUILTIN_NAMES


class TestInvalidFolders:
    def test_an_invalid_file_stops_loading_with_its_path_and_line(
        self, home: Path, repo: Path
    ) -> None:
        folder = repo / ".orchestrate" / "agents"
        folder.mkdir(parents=True)
        broken = folder / "broken.md"
        broken.write_text("---\nname: broken\ndescription: d\nmax_turns: many\n---\nPrompt\n")
        with pytest.raises(ValidationFailed) as refused:
            load_definitions(home, repo)
        assert str(refused.value) == (
            f"{broken}:4: max_turns must be a positive integer, got 'many'"
        )
        assert refused.value.context == {"file": str(broken), "line": 4}

    def test_two_files_of_one_folder_with_the_same_name_are_refused(
        self, home: Path, repo: Path
    ) -> None:
        folder = home / "agents"
        first = write_definition(folder, "helper", file_name="a.md")
        second = write_definition(folder, "helper", file_name="b.md")
        with pytest.raises(ValidationFailed) as refused:
            load_definitions(home, repo)
        assert str(refused.value).startswith(f"{second}:1: agent type 'helper'")
        assert str(first) in str(refused.value)

    def test_a_file_that_is_not_utf8_is_refused_with_its_path(self, home: Path, repo: Path) -> None:
        folder = home / "agents"
        folder.mkdir(parents=True)
        latin = folder / "latin.md"
        latin.write_bytes("---\nname: caf\xe9\n---\n".encode("latin-1"))
        with pytest.raises(ValidationFailed, match=r"latin\.md:1: not UTF-8 text"):
            load_definitions(home, repo)


class TestGetDefinition:
    def test_a_builtin_is_found_by_name(self, home: Path) -> None:
        developer = get_definition("story-developer", home, None)
        assert {"bash", "git"} <= set(developer.tools)

    def test_the_overriding_definition_is_returned(self, home: Path, repo: Path) -> None:
        path = write_definition(repo / ".claude" / "agents", "story-developer", prompt="ours")
        developer = get_definition("story-developer", home, repo)
        assert (developer.system_prompt, developer.source) == ("ours", path)

    def test_an_unknown_name_lists_the_available_ones(self, home: Path, repo: Path) -> None:
        write_definition(repo / ".orchestrate" / "agents", "api-designer")
        with pytest.raises(NotFound) as refused:
            get_definition("story-develper", home, repo)
        message = str(refused.value)
        assert message.startswith("No agent type 'story-develper'; available: api-designer, ")
        assert "Did you mean 'story-developer'?" in message
        assert refused.value.context["available"] == sorted(BUILTIN_NAMES | {"api-designer"})


def _age(path: Path, seconds: float) -> None:
    """Set ``path``'s modification time ``seconds`` into the past."""
    past = time.time() - seconds
    os.utime(path, (past, past))


def test_a_type_added_to_a_folder_listed_earlier_is_found(home: Path) -> None:
    folder = home / "agents"
    _age(write_definition(folder, "first"), 60)
    _age(folder, 60)  # an old listing, which is kept while the folder is unchanged
    assert "first" in load_definitions(home, None)

    write_definition(folder, "second")

    assert {"first", "second"} <= set(load_definitions(home, None))


def test_a_change_within_the_timestamp_tick_of_the_last_one_is_not_missed(
    home: Path,
) -> None:
    """File times tick in steps: a folder changed twice within one step keeps the time
    of the first change, so a listing keyed on it is only trusted once it is old."""
    folder = home / "agents"
    write_definition(folder, "first")
    listed_at = folder.stat().st_mtime_ns
    assert "first" in load_definitions(home, None)

    write_definition(folder, "second")
    os.utime(folder, ns=(listed_at, listed_at))  # the same tick as the first listing

    assert "second" in load_definitions(home, None)


def test_an_edit_within_the_timestamp_tick_of_the_last_one_is_not_missed(home: Path) -> None:
    folder = home / "agents"
    path = write_definition(folder, "worker", prompt="Old prompt.")
    stamp = path.stat().st_mtime_ns
    assert load_definitions(home, None)["worker"].system_prompt.startswith("Old prompt.")

    write_definition(folder, "worker", prompt="New prompt.")  # the same size
    os.utime(path, ns=(stamp, stamp))

    assert load_definitions(home, None)["worker"].system_prompt.startswith("New prompt.")
