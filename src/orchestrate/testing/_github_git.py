"""A local bare git repository behind a fake GitHub repository: real heads, real merges.

Branches are read from the bare repository every time, so a test (or an agent) that
pushes to it moves the pull request's head as a push to GitHub would. Merges use
``git merge-tree --write-tree`` (git 2.38+): no work tree, and conflicts are detected
exactly as git sees them.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

_IDENTITY = {
    "GIT_AUTHOR_NAME": "Fake GitHub",
    "GIT_AUTHOR_EMAIL": "noreply@github.invalid",
    "GIT_COMMITTER_NAME": "Fake GitHub",
    "GIT_COMMITTER_EMAIL": "noreply@github.invalid",
}


class BareRepository:
    def __init__(self, git_dir: Path) -> None:
        self.git_dir = git_dir

    def _git(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, **_IDENTITY, "GIT_DIR": str(self.git_dir)}
        return subprocess.run(  # noqa: S603 - fixed git argument vectors
            ["git", *args],  # noqa: S607 - git from PATH, as everywhere in tests
            env=env,
            capture_output=True,
            text=True,
            check=check,
        )

    def head(self, branch: str) -> str | None:
        done = self._git(
            "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}^{{commit}}", check=False
        )
        return done.stdout.strip() or None if done.returncode == 0 else None

    def branches(self) -> dict[str, str]:
        done = self._git("for-each-ref", "--format=%(refname:short) %(objectname)", "refs/heads")
        pairs = (line.split(" ", 1) for line in done.stdout.splitlines() if " " in line)
        return {pair[0]: pair[1] for pair in pairs}

    def resolve(self, revision: str) -> str | None:
        """The commit a branch name or sha names, None when there is none."""
        done = self._git("rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}", check=False)
        return done.stdout.strip() or None if done.returncode == 0 else None

    def count(self, since: str, until: str) -> int:
        """Commits reachable from ``until`` and not from ``since`` (both commits)."""
        return int(self._git("rev-list", "--count", f"{since}..{until}").stdout.strip())

    def merged_tree(self, into: str, other: str) -> str | None:
        """The tree of merging ``other`` into ``into``; None when they conflict."""
        done = self._git("merge-tree", "--write-tree", into, other, check=False)
        if done.returncode != 0:
            return None
        return done.stdout.splitlines()[0].strip()

    def merge(self, into: str, other: str, message: str, *, squash: bool = False) -> str | None:
        """Commit the merge of branch ``other`` into branch ``into``; None on conflicts."""
        into_sha, other_sha = self.head(into), self.head(other)
        if into_sha is None or other_sha is None:
            return None
        tree = self.merged_tree(into_sha, other_sha)
        if tree is None:
            return None
        parents = ["-p", into_sha] if squash else ["-p", into_sha, "-p", other_sha]
        commit = self._git("commit-tree", tree, *parents, "-m", message).stdout.strip()
        self._git("update-ref", f"refs/heads/{into}", commit, into_sha)
        return commit
