"""Agent workspaces: one git worktree on its own branch per agent run.

A workspace lives in ``<repo>/.orchestrate/worktrees/<agent-id>`` on a new branch
``orchestrate/<slug>`` made from an explicit base commit. The user's checkout (working
tree, index, ``HEAD``) is never touched: every git command names its directory with
``-C``, and ``/.orchestrate/worktrees/`` is hidden through ``info/exclude`` of the
common git directory, not through the user's tracked ``.gitignore``.

Creation and removal change shared files in the common git directory (refs, the
worktree registry), which git does not guard against concurrent writers. So they run
under an exclusive ``flock`` on a lock file there: it excludes other processes and,
since each acquisition opens the file anew, other tasks of the same event loop too;
the kernel drops it if its holder dies, so it can never go stale.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import re
import shutil
import time
import unicodedata
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import structlog

from orchestrate.core.errors import Conflict, IntegrationError, ValidationFailed
from orchestrate.core.git import GitResult, run_git
from orchestrate.core.sandbox.gitdirs import discard_private_store, record_branch

log = structlog.get_logger(__name__)

WORKTREES_DIR = Path(".orchestrate") / "worktrees"
BRANCH_PREFIX = "orchestrate/"
LOCK_FILE_NAME = "orchestrate-worktrees.lock"
LOCK_WAIT_SECONDS = 120.0

_EXCLUDE_LINE = "/.orchestrate/worktrees/"
_METADATA_FILE = "orchestrate-workspace.json"
_GIT_TIME_LIMIT = 60.0
_CHECKOUT_TIME_LIMIT = 600.0
_MAX_SLUG = 60
_AGENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


@dataclass(frozen=True)
class Workspace:
    """An agent's checkout: where it is, its branch, and the commit it started from."""

    path: Path
    branch: str
    base_ref: str
    base_commit: str


@dataclass(frozen=True)
class _Repository:
    root: Path
    common_dir: Path

    @classmethod
    def located(cls, repo: Path, *, toplevel: str, common_dir: str) -> _Repository:
        # git prints the common dir relative to the directory it ran in, or absolute.
        return cls(root=Path(toplevel).resolve(), common_dir=(repo / common_dir).resolve())

    @property
    def worktrees_root(self) -> Path:
        return self.root / WORKTREES_DIR


async def create_workspace(
    repo: Path, agent_id: str, slug: str, base_ref: str = "HEAD"
) -> Workspace:
    """Check out ``base_ref`` in a new worktree on a new branch for ``agent_id``.

    The branch is ``orchestrate/<slug>`` with the slug made safe for git, and a
    ``-2``, ``-3``… suffix when that branch exists already.
    """
    if not _AGENT_ID.fullmatch(agent_id):
        raise ValidationFailed(
            f"Agent id {agent_id!r} cannot name a directory; use letters, digits, '.', '_' "
            "and '-' only",
            agent_id=agent_id,
        )
    repository = await _open_repository(repo)
    base_commit = await _resolve_commit(repository, base_ref)
    path = repository.worktrees_root / agent_id
    async with _worktree_lock(repository.common_dir):
        if path.exists():
            raise Conflict(
                f"A workspace for agent {agent_id} already exists at {path}; remove it "
                "with remove_workspace first",
                agent_id=agent_id,
                path=str(path),
            )
        _ensure_excluded(repository.common_dir)
        await _git(repository.root, "worktree", "prune")
        branch = await _free_branch_name(repository, slug)
        await _add_worktree(repository, path, branch, base_commit)
        workspace = Workspace(path, branch, base_ref, base_commit)
        _write_metadata(workspace)
    log.info("workspace_created", agent_id=agent_id, branch=branch, base_commit=base_commit)
    return workspace


async def _add_worktree(repository: _Repository, path: Path, branch: str, base_commit: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    added = await _git(
        repository.root,
        *("worktree", "add", "--quiet", "-b", branch, str(path), base_commit),
        time_limit=_CHECKOUT_TIME_LIMIT,
    )
    if added.returncode != 0:
        await _discard(repository, path, branch)  # a failing checkout hook leaves one behind
        raise IntegrationError(
            f"git could not create the workspace {path} on branch {branch}: {added.message}",
            path=str(path),
            branch=branch,
        )
    # The sandbox lets commands in the worktree move this branch, and no other.
    record_branch(path, branch)


async def remove_workspace(repo: Path, path: Path, *, delete_branch: bool = False) -> None:
    """Delete a workspace, uncommitted changes and all; a missing one is not an error.

    Its branch stays (the commits on it are the agent's work) unless ``delete_branch``.
    """
    repository = await _open_repository(repo)
    target = _workspace_path(repository, path)
    async with _worktree_lock(repository.common_dir):
        branch = next(
            (
                entry_branch
                for entry_path, entry_branch, _ in await _worktrees(repository)
                if entry_path == target
            ),
            None,
        )
        await _discard(repository, target, branch if delete_branch else None)
    log.info("workspace_removed", path=str(target), branch=branch, branch_deleted=delete_branch)


async def commits_since(workspace: Workspace) -> list[str]:
    """The commits made on the workspace's branch since its base, oldest first."""
    result = await _git(workspace.path, "rev-list", "--reverse", f"{workspace.base_commit}..HEAD")
    if result.returncode != 0:
        raise IntegrationError(
            f"git could not list the commits of workspace {workspace.path}: {result.message}",
            path=str(workspace.path),
        )
    return result.stdout.split()


async def list_workspaces(repo: Path) -> list[Workspace]:
    """The workspaces git knows in ``repo``, by path."""
    repository = await _open_repository(repo)
    found = []
    for path, branch, head in await _worktrees(repository):
        if not path.is_relative_to(repository.worktrees_root):
            continue
        base_ref, base_commit = _read_metadata(path) or ("", head)
        found.append(Workspace(path, branch or "", base_ref, base_commit))
    return sorted(found, key=lambda workspace: workspace.path)


def _workspace_path(repository: _Repository, path: Path) -> Path:
    """``path`` resolved, if it is a workspace directory; never the user's own checkout."""
    target = path.resolve()
    if target.parent != repository.worktrees_root:
        raise ValidationFailed(
            f"{path} is not an Orchestrate workspace of {repository.root} (those live in "
            f"{repository.worktrees_root}); refusing to remove it",
            path=str(path),
        )
    return target


def branch_slug(slug: str) -> str:
    """``slug`` reduced to what is safe in a git branch name: ``Fix login!`` → ``fix-login``."""
    text = unicodedata.normalize("NFKD", slug).encode("ascii", "ignore").decode().lower()
    text = re.sub(r"[^a-z0-9._-]+", "-", text)
    text = re.sub(r"\.{2,}", ".", text)
    text = re.sub(r"-{2,}", "-", text).strip("-.")[:_MAX_SLUG]
    text = text.removesuffix(".lock").rstrip("-.")
    return text or "agent"


async def _free_branch_name(repository: _Repository, slug: str) -> str:
    listed = await _git(
        repository.root, "for-each-ref", "--format=%(refname)", f"refs/heads/{BRANCH_PREFIX}"
    )
    taken = set(listed.stdout.split())
    base = BRANCH_PREFIX + branch_slug(slug)
    candidate, number = base, 2
    while f"refs/heads/{candidate}" in taken:
        candidate, number = f"{base}-{number}", number + 1
    return candidate


async def _open_repository(repo: Path) -> _Repository:
    _require_directory(repo)
    result = await _git(repo, "rev-parse", "--show-toplevel", "--git-common-dir")
    lines = result.stdout.splitlines()
    if result.returncode != 0 or len(lines) != 2:
        raise ValidationFailed(
            f"{repo} is not a git repository with a working tree ({result.message}); "
            "run `git init` there or give the path of a checkout",
            repo=str(repo),
        )
    return _Repository.located(repo, toplevel=lines[0], common_dir=lines[1])


def _require_directory(repo: Path) -> None:
    if not repo.is_dir():
        raise ValidationFailed(
            f"{repo} is not a directory; give the path of a git checkout", repo=str(repo)
        )


async def _resolve_commit(repository: _Repository, base_ref: str) -> str:
    if not base_ref.strip() or base_ref.startswith("-"):
        raise ValidationFailed(f"Base ref {base_ref!r} is not a valid ref", base_ref=base_ref)
    result = await _git(
        repository.root, "rev-parse", "--verify", "--quiet", f"{base_ref}^{{commit}}"
    )
    if result.returncode == 0:
        return result.stdout.strip()
    if base_ref == "HEAD":
        hint = "the repository has no commits yet; make a first commit"
    else:
        hint = "check `git branch --all` and `git tag`, or fetch it first"
    raise ValidationFailed(
        f"Base ref '{base_ref}' does not name a commit in {repository.root}; {hint}",
        base_ref=base_ref,
        repo=str(repository.root),
    )


async def _worktrees(repository: _Repository) -> list[tuple[Path, str | None, str]]:
    """``(path, branch, head)`` of each worktree; ``branch`` is ``None`` when detached."""
    result = await _git(repository.root, "worktree", "list", "--porcelain")
    if result.returncode != 0:
        raise IntegrationError(f"git could not list worktrees: {result.message}")
    return _parse_worktree_list(result.stdout)


def _parse_worktree_list(porcelain: str) -> list[tuple[Path, str | None, str]]:
    entries = []
    for block in porcelain.strip().split("\n\n"):
        fields = dict(line.partition(" ")[::2] for line in block.splitlines())
        if "worktree" in fields:
            branch = fields.get("branch", "").removeprefix("refs/heads/") or None
            entries.append((Path(fields["worktree"]).resolve(), branch, fields.get("HEAD", "")))
    return entries


async def _discard(repository: _Repository, path: Path, branch: str | None) -> None:
    """Remove a worktree and optionally its branch; for cleanup too, so it tolerates absence."""
    discard_private_store(path)
    if (path / ".git").exists():
        removed = await _git(repository.root, "worktree", "remove", "--force", str(path))
        if removed.returncode != 0:
            raise IntegrationError(
                f"git could not remove the workspace {path}: {removed.message}. Close "
                "programs using it, then retry",
                path=str(path),
            )
    _remove_leftover(path)
    await _git(repository.root, "worktree", "prune")
    if branch is not None and branch.startswith(BRANCH_PREFIX):
        await _git(repository.root, "branch", "-D", "--", branch)


def _remove_leftover(path: Path) -> None:
    """Delete what is left of a workspace directory git does not (or no longer) know."""
    if path.exists():
        shutil.rmtree(path)


def _ensure_excluded(common_dir: Path) -> None:
    exclude = common_dir / "info" / "exclude"
    existing = exclude.read_text() if exclude.exists() else ""
    if _EXCLUDE_LINE in existing.splitlines():
        return
    exclude.parent.mkdir(parents=True, exist_ok=True)
    separator = "\n" if existing and not existing.endswith("\n") else ""
    with exclude.open("a") as handle:
        handle.write(f"{separator}# Orchestrate agent workspaces\n{_EXCLUDE_LINE}\n")


def _admin_dir(worktree: Path) -> Path | None:
    """The worktree's private directory in the common git dir, from its ``.git`` file."""
    try:
        pointer = (worktree / ".git").read_text().strip()
    except OSError:
        return None
    if not pointer.startswith("gitdir:"):
        return None
    return (worktree / pointer.removeprefix("gitdir:").strip()).resolve()


def _write_metadata(workspace: Workspace) -> None:
    # Kept beside git's own data for the worktree, so pruning it removes this too.
    admin = _admin_dir(workspace.path)
    if admin is not None:
        facts = {"base_ref": workspace.base_ref, "base_commit": workspace.base_commit}
        (admin / _METADATA_FILE).write_text(json.dumps(facts))


def _read_metadata(worktree: Path) -> tuple[str, str] | None:
    admin = _admin_dir(worktree)
    try:
        facts = json.loads((admin / _METADATA_FILE).read_text()) if admin else None
    except (OSError, ValueError):
        return None
    if not isinstance(facts, dict):
        return None
    return str(facts.get("base_ref", "")), str(facts.get("base_commit", ""))


@contextlib.asynccontextmanager
async def _worktree_lock(common_dir: Path) -> AsyncIterator[None]:
    # flock, not lockf: POSIX record locks are per process and would let two tasks of
    # this process in together. Polling keeps the event loop and thread pool free.
    descriptor = os.open(common_dir / LOCK_FILE_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise Conflict(
                        f"Waited {LOCK_WAIT_SECONDS:g} s for {common_dir / LOCK_FILE_NAME}; "
                        "another Orchestrate process is creating or removing workspaces "
                        "there. Retry when it is done",
                        lock=str(common_dir / LOCK_FILE_NAME),
                    ) from None
                await asyncio.sleep(0.01)
        yield
    finally:
        os.close(descriptor)  # closing the descriptor releases the lock


async def _git(cwd: Path, *args: str, time_limit: float = _GIT_TIME_LIMIT) -> GitResult:
    # No hook of the repository runs for git Orchestrate runs on an agent's behalf.
    return await run_git(*args, cwd=cwd, time_limit=time_limit)
