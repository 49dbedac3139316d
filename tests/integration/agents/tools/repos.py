"""Real git repositories for tests, isolated from the machine's git configuration."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

IDENTITY = ("-c", "user.name=Test User", "-c", "user.email=test@example.com")


def isolated_git_env(home: Path) -> dict[str, str]:
    """An environment in which git reads no system or user configuration."""
    home.mkdir(parents=True, exist_ok=True)
    (home / ".gitconfig").write_text("")
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("GIT_") and name != "HOME"
    }
    env.update(
        HOME=str(home),
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=str(home / ".gitconfig"),
    )
    return env


def git(repo: Path, *args: str, env: Mapping[str, str]) -> str:
    """Run git in ``repo`` and return its stdout; fail the test on a non-zero exit."""
    completed = subprocess.run(
        ["git", "-C", str(repo), *IDENTITY, *args],
        env={**env, "GIT_OPTIONAL_LOCKS": "0"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, f"git {' '.join(args)}: {completed.stderr}"
    return completed.stdout


def make_repo(path: Path, env: Mapping[str, str], files: Mapping[str, str] | None = None) -> Path:
    """A repository on ``main`` with one commit of ``files``."""
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main", env=env)
    for name, text in (files or {"README.md": "# Project\n"}).items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    git(path, "add", "--all", env=env)
    git(path, "commit", "-q", "-m", "Initial commit", env=env)
    return path
