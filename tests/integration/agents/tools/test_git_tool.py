"""The git tool against real repositories: status, diff, log, add and commit."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrate.agents.tools.base import ToolContext
from orchestrate.agents.tools.git import Git
from tests.integration.agents.tools.repos import git, isolated_git_env, make_repo
from tests.unit.agents.tools.support import call, make_context


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return isolated_git_env(tmp_path / "home")


@pytest.fixture
def repo(tmp_path: Path, env: dict[str, str]) -> Path:
    return make_repo(tmp_path / "repo", env, {"app.py": "print('hi')\n", "README.md": "# R\n"})


@pytest.fixture
def context(repo: Path, env: dict[str, str]) -> ToolContext:
    return make_context(repo, env=env)


class TestReading:
    async def test_status_of_a_clean_checkout_says_it_is_clean(self, context: ToolContext) -> None:
        result = await call(Git(), context, action="status")
        assert result.content == "## main\nnothing to commit, working tree clean"

    async def test_status_lists_modified_and_new_files(
        self, repo: Path, context: ToolContext
    ) -> None:
        (repo / "app.py").write_text("print('bye')\n")
        (repo / "new.txt").write_text("x\n")
        result = await call(Git(), context, action="status")
        assert result.content.splitlines() == ["## main", " M app.py", "?? new.txt"]

    async def test_diff_shows_unstaged_changes_and_staged_ones_on_request(
        self, repo: Path, context: ToolContext
    ) -> None:
        (repo / "app.py").write_text("print('bye')\n")
        unstaged = await call(Git(), context, action="diff")
        assert "-print('hi')\n+print('bye')" in unstaged.content
        staged = await call(Git(), context, action="diff", staged=True)
        assert staged.content == "No staged changes. Stage files with action 'add'"

    async def test_diff_can_be_limited_to_paths(self, repo: Path, context: ToolContext) -> None:
        (repo / "app.py").write_text("print('bye')\n")
        (repo / "README.md").write_text("# Renamed\n")
        result = await call(Git(), context, action="diff", paths=["README.md"])
        assert "README.md" in result.content
        assert "app.py" not in result.content

    async def test_log_shows_recent_commits_with_their_subjects(self, context: ToolContext) -> None:
        result = await call(Git(), context, action="log", limit=5)
        assert result.content.endswith("Test User: Initial commit")

    async def test_an_unknown_action_lists_the_actions(self, context: ToolContext) -> None:
        result = await call(Git(), context, action="push")
        assert result.is_error
        assert "'status', 'diff', 'log', 'add' or 'commit'" in result.content


class TestCommitting:
    async def test_add_then_commit_records_the_change_as_the_default_agent(
        self, repo: Path, env: dict[str, str], context: ToolContext
    ) -> None:
        (repo / "app.py").write_text("print('bye')\n")
        added = await call(Git(), context, action="add", paths=["app.py"])
        assert "M  app.py" in added.content
        committed = await call(Git(), context, action="commit", message="Say goodbye")
        assert not committed.is_error
        assert "Say goodbye" in committed.content
        author = git(repo, "log", "-1", "--format=%an <%ae>|%cn", env=env).strip()
        assert author == "Orchestrate Agent <agent@orchestrate.local>|Orchestrate Agent"

    async def test_the_author_comes_from_the_environment_when_given(
        self, repo: Path, env: dict[str, str]
    ) -> None:
        context = make_context(
            repo, env={**env, "GIT_AUTHOR_NAME": "Dev Agent", "GIT_AUTHOR_EMAIL": "dev@x.org"}
        )
        (repo / "new.txt").write_text("x\n")
        await call(Git(), context, action="add", paths=["."])
        await call(Git(), context, action="commit", message="Add a file")
        assert git(repo, "log", "-1", "--format=%an <%ae>", env=env).strip() == (
            "Dev Agent <dev@x.org>"
        )

    async def test_a_commit_with_nothing_staged_is_refused_clearly(
        self, repo: Path, env: dict[str, str], context: ToolContext
    ) -> None:
        (repo / "app.py").write_text("print('bye')\n")
        head = git(repo, "rev-parse", "HEAD", env=env)
        result = await call(Git(), context, action="commit", message="Nothing")
        assert result.is_error
        assert "Nothing is staged" in result.content
        assert "action 'add'" in result.content
        assert git(repo, "rev-parse", "HEAD", env=env) == head

    async def test_a_commit_needs_a_message(self, context: ToolContext) -> None:
        result = await call(Git(), context, action="commit", message="  ")
        assert result.is_error
        assert "non-empty 'message'" in result.content

    async def test_add_needs_paths(self, context: ToolContext) -> None:
        result = await call(Git(), context, action="add")
        assert result.is_error
        assert "add needs 'paths'" in result.content

    async def test_adding_a_path_outside_the_workspace_is_refused(
        self, tmp_path: Path, context: ToolContext
    ) -> None:
        result = await call(Git(), context, action="add", paths=[str(tmp_path / "home")])
        assert result.is_error
        assert "outside the workspace" in result.content

    async def test_a_git_dir_in_the_environment_cannot_redirect_the_commit(
        self, tmp_path: Path, repo: Path, env: dict[str, str]
    ) -> None:
        other = make_repo(tmp_path / "other", env)
        other_head = git(other, "rev-parse", "HEAD", env=env)
        context = make_context(repo, env={**env, "GIT_DIR": str(other / ".git")})
        (repo / "new.txt").write_text("x\n")
        await call(Git(), context, action="add", paths=["new.txt"])
        result = await call(Git(), context, action="commit", message="Stay here")
        assert not result.is_error
        assert git(other, "rev-parse", "HEAD", env=env) == other_head
        assert git(repo, "log", "-1", "--format=%s", env=env).strip() == "Stay here"

    async def test_a_failing_git_command_returns_its_message_as_an_error(
        self, context: ToolContext
    ) -> None:
        result = await call(Git(), context, action="add", paths=["missing.txt"])
        assert result.is_error
        assert "pathspec 'missing.txt' did not match any files" in result.content
