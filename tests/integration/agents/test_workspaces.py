"""Agent workspaces as git worktrees, on real repositories, concurrently too."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from orchestrate.agents.workspaces import (
    Workspace,
    branch_slug,
    commits_since,
    create_workspace,
    list_workspaces,
    remove_workspace,
)
from orchestrate.core.errors import Conflict, IntegrationError, ValidationFailed
from tests.integration.agents.tools.repos import git, isolated_git_env, make_repo


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Make this process's git (which the workspace code inherits) ignore the machine."""
    isolated = isolated_git_env(tmp_path / "home")
    for name in list(os.environ):
        if name.startswith("GIT_") or name == "HOME":
            monkeypatch.delenv(name)
    for name, value in isolated.items():
        monkeypatch.setenv(name, value)
    return isolated


@pytest.fixture
def repo(tmp_path: Path, env: dict[str, str]) -> Path:
    return make_repo(tmp_path / "repo", env, {"app.py": "v = 1\n", "README.md": "# R\n"})


def head(path: Path, env: dict[str, str]) -> str:
    return git(path, "rev-parse", "HEAD", env=env).strip()


def checkout_state(repo: Path, env: dict[str, str]) -> dict[str, str]:
    """Everything about the user's checkout that a workspace must never change."""
    files = {
        str(path.relative_to(repo)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(repo.rglob("*"))
        if path.is_file() and ".git" not in path.parts and ".orchestrate" not in path.parts
    }
    return {
        "head": head(repo, env),
        "branch": git(repo, "symbolic-ref", "HEAD", env=env),
        "status": git(repo, "status", "--porcelain=v1", "--untracked-files=all", env=env),
        "index": git(repo, "ls-files", "--stage", env=env),
        "index_file": hashlib.sha256((repo / ".git" / "index").read_bytes()).hexdigest(),
        "unstaged": git(repo, "diff", env=env),
        "staged": git(repo, "diff", "--cached", env=env),
        "files": json.dumps(files),
    }


class TestCreating:
    async def test_a_workspace_checks_out_head_on_a_new_branch(
        self, repo: Path, env: dict[str, str]
    ) -> None:
        workspace = await create_workspace(repo, "agent-1", "fix-login")
        assert workspace == Workspace(
            path=repo / ".orchestrate" / "worktrees" / "agent-1",
            branch="orchestrate/fix-login",
            base_ref="HEAD",
            base_commit=head(repo, env),
        )
        assert (workspace.path / "app.py").read_text() == "v = 1\n"
        current = git(workspace.path, "rev-parse", "--abbrev-ref", "HEAD", env=env).strip()
        assert current == "orchestrate/fix-login"

    async def test_a_workspace_can_start_from_another_ref(
        self, repo: Path, env: dict[str, str]
    ) -> None:
        git(repo, "switch", "-q", "-c", "feature", env=env)
        (repo / "feature.txt").write_text("new\n")
        git(repo, "add", "feature.txt", env=env)
        git(repo, "commit", "-q", "-m", "Add feature", env=env)
        feature_head = head(repo, env)
        git(repo, "switch", "-q", "main", env=env)

        workspace = await create_workspace(repo, "agent-1", "review", base_ref="feature")
        assert workspace.base_commit == feature_head
        assert workspace.base_ref == "feature"
        assert (workspace.path / "feature.txt").exists()
        assert not (repo / "feature.txt").exists()

    async def test_the_slug_is_made_safe_for_a_branch_name(self, repo: Path) -> None:
        workspace = await create_workspace(repo, "agent-1", "Fix the Login bug!! (ÜI)")
        assert workspace.branch == "orchestrate/fix-the-login-bug-ui"

    async def test_a_taken_branch_name_gets_a_numbered_suffix(self, repo: Path) -> None:
        first = await create_workspace(repo, "agent-1", "same task")
        second = await create_workspace(repo, "agent-2", "same task")
        assert (first.branch, second.branch) == ("orchestrate/same-task", "orchestrate/same-task-2")

    async def test_the_worktrees_are_ignored_without_touching_tracked_files(
        self, repo: Path, env: dict[str, str]
    ) -> None:
        await create_workspace(repo, "agent-1", "a")
        await create_workspace(repo, "agent-2", "b")
        assert git(repo, "status", "--porcelain", env=env) == ""
        assert not (repo / ".gitignore").exists()
        exclude = (repo / ".git" / "info" / "exclude").read_text()
        assert exclude.splitlines().count("/.orchestrate/worktrees/") == 1

    async def test_a_repository_that_is_itself_a_worktree_uses_the_common_git_dir(
        self, tmp_path: Path, repo: Path, env: dict[str, str]
    ) -> None:
        linked = tmp_path / "linked"
        git(repo, "worktree", "add", "-q", "-b", "side", str(linked), env=env)
        workspace = await create_workspace(linked, "agent-1", "from-linked")
        assert workspace.path == linked / ".orchestrate" / "worktrees" / "agent-1"
        assert "/.orchestrate/worktrees/" in (repo / ".git" / "info" / "exclude").read_text()
        assert git(linked, "status", "--porcelain", env=env) == ""


class TestRefusals:
    async def test_an_unknown_ref_is_named_with_what_to_check(self, repo: Path) -> None:
        with pytest.raises(ValidationFailed, match="Base ref 'nope' does not name a commit"):
            await create_workspace(repo, "agent-1", "x", base_ref="nope")

    async def test_a_directory_that_is_not_a_repository_is_refused(self, tmp_path: Path) -> None:
        plain = tmp_path / "plain"
        plain.mkdir()
        with pytest.raises(ValidationFailed, match=r"is not a git repository.*git init"):
            await create_workspace(plain, "agent-1", "x")

    async def test_a_missing_directory_is_refused(self, tmp_path: Path) -> None:
        with pytest.raises(ValidationFailed, match="is not a directory"):
            await create_workspace(tmp_path / "missing", "agent-1", "x")

    async def test_a_repository_without_commits_asks_for_a_first_commit(
        self, tmp_path: Path, env: dict[str, str]
    ) -> None:
        empty = tmp_path / "empty"
        empty.mkdir()
        git(empty, "init", "-q", env=env)
        with pytest.raises(ValidationFailed, match="no commits yet"):
            await create_workspace(empty, "agent-1", "x")

    async def test_an_agent_id_that_is_not_a_plain_name_is_refused(self, repo: Path) -> None:
        with pytest.raises(ValidationFailed, match="cannot name a directory"):
            await create_workspace(repo, "../escape", "x")

    async def test_a_second_workspace_for_the_same_agent_is_a_conflict(self, repo: Path) -> None:
        await create_workspace(repo, "agent-1", "x")
        with pytest.raises(Conflict, match="already exists"):
            await create_workspace(repo, "agent-1", "y")

    async def test_a_failed_checkout_leaves_neither_worktree_nor_branch(
        self, repo: Path, env: dict[str, str]
    ) -> None:
        # A required smudge filter that fails makes git's checkout itself fail.
        git(repo, "config", "filter.refuse.smudge", "false", env=env)
        git(repo, "config", "filter.refuse.required", "true", env=env)
        (repo / ".git" / "info" / "attributes").write_text("* filter=refuse\n")
        with pytest.raises(IntegrationError, match="refuse"):
            await create_workspace(repo, "agent-1", "x")
        assert await list_workspaces(repo) == []
        assert not (repo / ".orchestrate" / "worktrees" / "agent-1").exists()
        assert git(repo, "branch", "--list", "orchestrate/*", env=env) == ""

    async def test_no_repository_hook_runs_when_a_workspace_is_made_or_removed(
        self, repo: Path
    ) -> None:
        for name in ("post-checkout", "reference-transaction", "post-index-change"):
            hook = repo / ".git" / "hooks" / name
            hook.write_text(f"#!/bin/sh\ntouch '{repo}/{name}-ran'\n")
            hook.chmod(0o755)

        workspace = await create_workspace(repo, "agent-1", "x")
        await remove_workspace(repo, workspace.path, delete_branch=True)

        assert sorted(path.name for path in repo.glob("*-ran")) == []


class TestUserCheckout:
    async def test_the_checkout_is_unchanged_by_a_workspace_lifecycle(
        self, repo: Path, env: dict[str, str]
    ) -> None:
        (repo / "app.py").write_text("v = 2  # uncommitted\n")
        (repo / "README.md").write_text("# Staged edit\n")
        git(repo, "add", "README.md", env=env)
        (repo / "scratch.txt").write_text("untracked\n")
        before = checkout_state(repo, env)

        workspace = await create_workspace(repo, "agent-1", "work")
        (workspace.path / "app.py").write_text("v = 3\n")
        git(workspace.path, "commit", "-q", "-am", "Agent change", env=env)
        assert checkout_state(repo, env) == before
        await remove_workspace(repo, workspace.path, delete_branch=True)

        assert checkout_state(repo, env) == before


class TestInspecting:
    async def test_commits_since_lists_new_commits_oldest_first(
        self, repo: Path, env: dict[str, str]
    ) -> None:
        workspace = await create_workspace(repo, "agent-1", "work")
        assert await commits_since(workspace) == []
        made = []
        for number in (1, 2):
            (workspace.path / "app.py").write_text(f"v = {number + 1}\n")
            git(workspace.path, "commit", "-q", "-am", f"Change {number}", env=env)
            made.append(head(workspace.path, env))
        assert await commits_since(workspace) == made

    async def test_list_workspaces_returns_what_was_created(self, repo: Path) -> None:
        first = await create_workspace(repo, "agent-1", "one")
        second = await create_workspace(repo, "agent-2", "two", base_ref="main")
        assert await list_workspaces(repo) == [first, second]


class TestRemoving:
    async def test_removal_deletes_the_directory_and_keeps_the_branch(
        self, repo: Path, env: dict[str, str]
    ) -> None:
        workspace = await create_workspace(repo, "agent-1", "work")
        (workspace.path / "dirty.txt").write_text("uncommitted\n")
        await remove_workspace(repo, workspace.path)
        assert not workspace.path.exists()
        assert await list_workspaces(repo) == []
        assert "orchestrate/work" in git(repo, "branch", "--list", "orchestrate/*", env=env)

    async def test_removal_can_delete_the_branch(self, repo: Path, env: dict[str, str]) -> None:
        workspace = await create_workspace(repo, "agent-1", "work")
        await remove_workspace(repo, workspace.path, delete_branch=True)
        assert git(repo, "branch", "--list", "orchestrate/*", env=env) == ""

    async def test_removing_twice_is_harmless(self, repo: Path) -> None:
        workspace = await create_workspace(repo, "agent-1", "work")
        await remove_workspace(repo, workspace.path)
        await remove_workspace(repo, workspace.path)
        assert await list_workspaces(repo) == []

    async def test_the_users_checkout_cannot_be_removed_as_a_workspace(self, repo: Path) -> None:
        with pytest.raises(ValidationFailed, match="refusing to remove it"):
            await remove_workspace(repo, repo)
        assert (repo / "app.py").exists()

    async def test_an_agent_id_can_be_reused_after_removal(self, repo: Path) -> None:
        workspace = await create_workspace(repo, "agent-1", "work")
        await remove_workspace(repo, workspace.path)
        again = await create_workspace(repo, "agent-1", "work")
        assert again.branch == "orchestrate/work-2"


class TestConcurrency:
    async def test_eight_workspaces_created_at_once_all_succeed_on_distinct_branches(
        self, repo: Path, env: dict[str, str]
    ) -> None:
        created = await asyncio.gather(
            *(create_workspace(repo, f"agent-{n}", "same task") for n in range(8))
        )
        assert len({workspace.branch for workspace in created}) == 8
        assert all((workspace.path / "app.py").exists() for workspace in created)
        listed = git(repo, "worktree", "list", "--porcelain", env=env)
        assert listed.count("worktree ") == 9

    @pytest.mark.slow
    def test_four_processes_creating_two_workspaces_each_all_succeed(
        self, repo: Path, env: dict[str, str]
    ) -> None:
        script = (
            "import asyncio, json, sys\n"
            "from pathlib import Path\n"
            "from orchestrate.agents.workspaces import create_workspace\n"
            "async def main():\n"
            "    made = await asyncio.gather(*(create_workspace(Path(sys.argv[1]),"
            " f'{sys.argv[2]}-{n}', 'shared slug') for n in range(2)))\n"
            "    print(json.dumps([w.branch for w in made]))\n"
            "asyncio.run(main())\n"
        )
        processes = [
            subprocess.Popen(
                [sys.executable, "-c", script, str(repo), f"proc{number}"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for number in range(4)
        ]
        branches = []
        for process in processes:
            stdout, stderr = process.communicate(timeout=120)
            assert process.returncode == 0, stderr
            branches += json.loads(stdout.splitlines()[-1])  # after any log lines
        assert len(set(branches)) == 8
        assert git(repo, "status", "--porcelain", env=env) == ""


def test_slugs_never_produce_invalid_ref_names() -> None:
    assert branch_slug("..weird..name.lock") == "weird.name"
    assert branch_slug("---") == "agent"
    assert branch_slug("a" * 200) == "a" * 60
