"""The host git Orchestrate runs: nothing of the repository or the caller steers it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from orchestrate.core.errors import IntegrationError
from orchestrate.core.git import git_environment, run_git


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True)
    return root


async def test_the_callers_git_dir_does_not_redirect_it(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = tmp_path / "other"
    subprocess.run(["git", "init", "-q", str(other)], check=True)
    monkeypatch.setenv("GIT_DIR", str(other / ".git"))

    result = await run_git("rev-parse", "--absolute-git-dir", cwd=repo, time_limit=10)

    assert result.ok, result.message
    assert Path(result.stdout.strip()) == (repo / ".git").resolve()
    assert "GIT_DIR" not in git_environment()


async def test_no_hook_of_the_repository_runs(repo: Path, tmp_path: Path) -> None:
    marker = tmp_path / "hook-ran"
    hook = repo / ".git" / "hooks" / "pre-commit"
    hook.write_text(f"#!/bin/sh\ntouch {marker}\n")
    hook.chmod(0o755)
    identity = ("-c", "user.name=T", "-c", "user.email=t@example.com")

    result = await run_git(
        *identity, "commit", "-q", "--allow-empty", "-m", "x", cwd=repo, time_limit=10
    )

    assert result.ok, result.message
    assert not marker.exists()


async def test_a_failure_is_returned_with_gits_words(repo: Path) -> None:
    result = await run_git("rev-parse", "--verify", "no-such-branch", cwd=repo, time_limit=10)

    assert not result.ok
    assert result.message


async def test_a_command_past_its_time_limit_is_stopped(repo: Path) -> None:
    # `git -c alias…` runs a shell command through git, here one that sleeps.
    with pytest.raises(IntegrationError, match=r"took longer than 0\.2 s"):
        await run_git("-c", "alias.nap=!sleep 2", "nap", cwd=repo, time_limit=0.2)
