"""Pushing an agent's branch to its repository's remote, with the host's git.

With ``core.git``'s runner: the branch's head is read from the repository (a worktree
shares its refs, and the agent's worktree may already be cleaned up), then pushed as
that exact commit:
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

import re
from dataclasses import dataclass
from pathlib import Path

from orchestrate.core.errors import IntegrationError
from orchestrate.core.git import GitResult, git_environment, run_git

_TIME_LIMIT = 300.0
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
    if not found.ok:
        return None
    sha = found.stdout.strip()
    counted = await _git(repo, "rev-list", "--count", f"{base_commit}..{sha}")
    if not counted.ok:
        raise IntegrationError(
            f"git could not count the commits of {branch} in {repo}: {_said(counted)}",
            branch=branch,
        )
    return BranchHead(sha, int(counted.stdout.strip() or 0))


async def branches_from(repo: Path, commit: str, branch: str, remote: str) -> bool | None:
    """Whether ``commit`` is in the history of ``branch``: the local branch or the
    remote's copy of it (an agent may start from either, and the remote's may be ahead);
    None when ``repo`` has neither."""
    known = False
    for ref in (f"refs/heads/{branch}", f"refs/remotes/{remote}/{branch}"):
        exists = await _git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
        if exists.ok:
            known = True
            found = await _git(repo, "merge-base", "--is-ancestor", commit, ref)
            if found.returncode == 0:
                return True
    return False if known else None


async def push_commit(repo: Path, remote: str, sha: str, branch: str) -> None:
    """Make ``branch`` on ``remote`` point at ``sha`` (a fast-forward or a new branch)."""
    result = await _git(
        repo, "push", "--porcelain", "--no-verify", remote, "--", f"{sha}:refs/heads/{branch}"
    )
    if not result.ok:
        raise IntegrationError(
            f"git push of {branch} to the remote {remote!r} of {repo} failed: {_said(result)}. "
            "Check that the remote exists and that git on this machine may push to it "
            "(docs/pull-requests.md, credentials)",
            branch=branch,
            remote=remote,
        )


async def fetch_branch(repo: Path, remote: str, branch: str) -> str | None:
    """Fetch ``branch`` of ``remote`` into ``refs/remotes/REMOTE/BRANCH`` of ``repo``; its
    head, or None when the remote has no such branch."""
    tracking = f"refs/remotes/{remote}/{branch}"
    result = await _git(
        repo, "fetch", "--no-tags", "--quiet", remote, "--", f"+refs/heads/{branch}:{tracking}"
    )
    if not result.ok:
        if "couldn't find remote ref" in result.stderr.lower():
            return None
        raise IntegrationError(
            f"git fetch of {branch} from the remote {remote!r} of {repo} failed: {_said(result)}",
            branch=branch,
            remote=remote,
        )
    found = await _git(repo, "rev-parse", "--verify", "--quiet", f"{tracking}^{{commit}}")
    return found.stdout.strip() or None


async def tree_of(repo: Path, commit: str) -> str | None:
    """The tree SHA of ``commit`` (what the CI test history is kept by); None if unknown."""
    found = await _git(repo, "rev-parse", "--verify", "--quiet", f"{commit}^{{tree}}")
    return found.stdout.strip() or None if found.ok else None


async def contains(repo: Path, ancestor: str, descendant: str) -> bool:
    """Whether commit ``ancestor`` is in the history of ``descendant`` (both known to
    ``repo``)."""
    found = await _git(repo, "merge-base", "--is-ancestor", ancestor, descendant)
    return found.returncode == 0


async def conflict_markers(repo: Path, commit: str) -> list[str]:
    """Files of ``commit`` with a line that is a merge-conflict marker (``<<<<<<< `` or
    ``>>>>>>> ``): what a resolution that is not one leaves behind."""
    found = await _git(
        repo, "grep", "-l", "-I", "-E", "-e", "^(<<<<<<<|>>>>>>>)( |$)", commit, "--"
    )
    return [line.split(":", 1)[-1] for line in found.stdout.splitlines() if line.strip()]


def _said(result: GitResult) -> str:
    """git's last error lines, with any password of a URL taken out."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    text = "\n".join(lines[-_ERROR_LINES:]) or f"exit code {result.returncode}"
    return _USERINFO.sub("", text)


async def _git(cwd: Path, *args: str) -> GitResult:
    # ssh asks no question either: an unknown host key or a locked key fails the push.
    env = git_environment()
    env.setdefault("GIT_SSH_COMMAND", "ssh -o BatchMode=yes")
    return await run_git(*args, cwd=cwd, time_limit=_TIME_LIMIT, env=env)
