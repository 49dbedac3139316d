"""Pushing an agent's branch to its repository's remote, with the host's git.

The branch's head is read from the repository (a worktree shares its refs, and the
agent's worktree may already be cleaned up), then pushed as that exact commit:
``git push --porcelain REMOTE -- SHA:refs/heads/BRANCH``. Pushing the same commit
again changes nothing on the remote, so a job that resumes after a crash re-runs the
push safely. No hook of the repository runs (``core.hooksPath=/dev/null``), git never
prompts (a remote needing a password it was not given fails instead of hanging), and
the command's output is stripped of any password in a URL before it is shown.

Credentials for HTTPS remotes come from git itself (a credential helper, or
``~/.git-credentials``), as for any push from this machine; Orchestrate never puts a
token on a command line or in a log (docs/pull-requests.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from orchestrate.core.errors import ConfigurationError, IntegrationError

_TIME_LIMIT = 300.0
_LOCATION_VARIABLES = frozenset(
    {
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_INDEX_FILE",
        "GIT_COMMON_DIR",
        "GIT_OBJECT_DIRECTORY",
        "GIT_ALTERNATE_OBJECT_DIRECTORIES",
        "GIT_NAMESPACE",
        "GIT_CEILING_DIRECTORIES",
    }
)
_USERINFO = re.compile(r"(?<=://)[^/@\s]+@")
_ERROR_LINES = 6


@dataclass(frozen=True)
class BranchHead:
    """A branch's tip and how many commits it has beyond the agent's base commit."""

    sha: str
    commits: int


async def branch_head(repo: Path, branch: str, base_commit: str) -> BranchHead | None:
    """The branch's head in ``repo`` and its commits since ``base_commit``; None when the
    branch no longer exists."""
    found = await _git(repo, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}^{{commit}}")
    if found.returncode != 0:
        return None
    sha = found.stdout.strip()
    counted = await _git(repo, "rev-list", "--count", f"{base_commit}..{sha}")
    if counted.returncode != 0:
        raise IntegrationError(
            f"git could not count the commits of {branch} in {repo}: {counted.message}",
            branch=branch,
        )
    return BranchHead(sha, int(counted.stdout.strip() or 0))


async def push_commit(repo: Path, remote: str, sha: str, branch: str) -> None:
    """Make ``branch`` on ``remote`` point at ``sha`` (a fast-forward or a new branch)."""
    result = await _git(
        repo, "push", "--porcelain", "--no-verify", remote, "--", f"{sha}:refs/heads/{branch}"
    )
    if result.returncode != 0:
        raise IntegrationError(
            f"git push of {branch} to the remote {remote!r} of {repo} failed: {result.message}. "
            "Check that the remote exists and that git on this machine may push to it "
            "(docs/pull-requests.md, credentials)",
            branch=branch,
            remote=remote,
        )


@dataclass(frozen=True)
class _Result:
    returncode: int
    stdout: str
    stderr: str

    @property
    def message(self) -> str:
        lines = [line for line in self.stderr.splitlines() if line.strip()]
        text = "\n".join(lines[-_ERROR_LINES:]) or f"exit {self.returncode}"
        return _USERINFO.sub("", text)


def _environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k.upper() not in _LOCATION_VARIABLES}
    env.update(
        GIT_TERMINAL_PROMPT="0",
        GIT_OPTIONAL_LOCKS="0",
        GIT_SSH_COMMAND=env.get("GIT_SSH_COMMAND", "ssh -o BatchMode=yes"),
    )
    return env


async def _git(cwd: Path, *args: str) -> _Result:
    try:
        process = await asyncio.create_subprocess_exec(
            *("git", "-C", str(cwd), "-c", "core.hooksPath=/dev/null", *args),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=_environment(),
        )
    except FileNotFoundError:
        raise ConfigurationError("git is not installed or not on PATH; install git") from None
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), _TIME_LIMIT)
    except (TimeoutError, asyncio.CancelledError) as error:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
        if isinstance(error, asyncio.CancelledError):
            raise
        raise IntegrationError(
            f"git {args[0]} in {cwd} took longer than {_TIME_LIMIT:g} s and was stopped"
        ) from None
    return _Result(
        process.returncode or 0, stdout.decode(errors="replace"), stderr.decode(errors="replace")
    )
