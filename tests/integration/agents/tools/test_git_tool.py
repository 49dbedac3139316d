"""The git tool against real repositories: status, diff, log, add, commit and merge."""

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
        assert "'add', 'commit', 'merge' or 'merge_abort'" in result.content


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


class TestMerging:
    @staticmethod
    def diverge(repo: Path, env: dict[str, str], ours: str, theirs: str) -> None:
        """``other`` changes app.py one way, ``main`` (checked out) another."""
        git(repo, "checkout", "-q", "-b", "other", env=env)
        (repo / "app.py").write_text(theirs)
        git(repo, "commit", "-qam", "Theirs", env=env)
        git(repo, "checkout", "-q", "main", env=env)
        (repo / "app.py").write_text(ours)
        git(repo, "commit", "-qam", "Ours", env=env)

    async def test_a_clean_merge_is_committed(
        self, repo: Path, env: dict[str, str], context: ToolContext
    ) -> None:
        git(repo, "checkout", "-q", "-b", "other", env=env)
        (repo / "new.py").write_text("x = 1\n")
        git(repo, "add", "new.py", env=env)
        git(repo, "commit", "-qm", "Add new", env=env)
        git(repo, "checkout", "-q", "main", env=env)

        merged = await call(Git(), context, action="merge", ref="other")

        assert not merged.is_error, merged.content
        assert (repo / "new.py").exists()

    async def test_conflicts_are_listed_and_resolved_by_a_commit(
        self, repo: Path, env: dict[str, str], context: ToolContext
    ) -> None:
        self.diverge(repo, env, "print('ours')\n", "print('theirs')\n")

        merged = await call(Git(), context, action="merge", ref="other")

        assert merged.is_error
        assert "Conflicted files:\napp.py" in merged.content
        (repo / "app.py").write_text("print('ours and theirs')\n")
        await call(Git(), context, action="add", paths=["app.py"])
        committed = await call(Git(), context, action="commit", message="Merge other")
        assert not committed.is_error, committed.content
        parents = git(repo, "log", "-1", "--format=%P", env=env).split()
        assert len(parents) == 2

    async def test_a_resolution_keeping_our_side_is_still_committed_as_the_merge(
        self, repo: Path, env: dict[str, str], context: ToolContext
    ) -> None:
        self.diverge(repo, env, "print('ours')\n", "print('theirs')\n")
        await call(Git(), context, action="merge", ref="other")
        (repo / "app.py").write_text("print('ours')\n")
        await call(Git(), context, action="add", paths=["app.py"])

        committed = await call(Git(), context, action="commit", message="Merge other")

        assert not committed.is_error, committed.content
        assert len(git(repo, "log", "-1", "--format=%P", env=env).split()) == 2

    async def test_merge_abort_gives_a_conflicted_merge_up(
        self, repo: Path, env: dict[str, str], context: ToolContext
    ) -> None:
        self.diverge(repo, env, "print('ours')\n", "print('theirs')\n")
        await call(Git(), context, action="merge", ref="other")

        aborted = await call(Git(), context, action="merge_abort")

        assert not aborted.is_error, aborted.content
        assert (repo / "app.py").read_text() == "print('ours')\n"

    @pytest.mark.parametrize("ref", ["", "-Xtheirs", "--strategy=ours", "a..b", "main; rm -rf /"])
    async def test_an_option_or_odd_ref_is_refused(self, context: ToolContext, ref: str) -> None:
        result = await call(Git(), context, action="merge", ref=ref)
        assert result.is_error
        assert "merge needs 'ref'" in result.content
