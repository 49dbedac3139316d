"""git run by the server, outside any sandbox, on a repository's common directory.

Only for the few operations that adopt what a sandboxed command produced (indexing a
pack, moving the worktree's own branch). No hook of the repository runs, nothing
prompts, and the server's environment is not passed: only ``PATH``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from orchestrate.core.errors import ConfigurationError

_TIME_LIMIT = 600.0


def run_git(git_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``git --git-dir=<git_dir> <args>``; never raises for git's own failures."""
    git = shutil.which("git")
    if git is None:
        raise ConfigurationError("git is not installed or not on PATH; install git")
    return subprocess.run(  # noqa: S603 (our own argv)
        [git, f"--git-dir={git_dir}", "-c", "core.hooksPath=/dev/null", *args],
        capture_output=True,
        text=True,
        timeout=_TIME_LIMIT,
        check=False,
        stdin=subprocess.DEVNULL,
        env={
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_CONFIG_NOSYSTEM": "1",
        },
    )
