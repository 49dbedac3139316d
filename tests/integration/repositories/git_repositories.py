"""Real git repositories for tests: work trees, and bare ones to clone from."""

from __future__ import annotations

import subprocess
from pathlib import Path

__all__ = ["bare_repository", "git", "work_tree"]


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True
    )
    return done.stdout


def work_tree(path: Path, files: dict[str, str] | None = None, *, branch: str = "main") -> Path:
    """A git work tree at ``path`` with one commit of ``files`` on ``branch``."""
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", branch)
    for name, text in (files or {"README.md": "hello\n"}).items():
        (path / name).write_text(text)
    git(path, "add", ".")
    git(path, "-c", "user.name=Dev", "-c", "user.email=dev@example.com", "commit", "-qm", "init")
    return path


def bare_repository(path: Path, files: dict[str, str] | None = None, *, branch: str) -> Path:
    """A bare repository at ``path`` whose HEAD is ``branch``: what a forge serves."""
    source = work_tree(path.with_name(path.name + "-source"), files, branch=branch)
    subprocess.run(
        ["git", "clone", "-q", "--bare", str(source), str(path)], check=True, capture_output=True
    )
    return path
