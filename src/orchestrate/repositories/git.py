"""The git the registry runs: clone a URL, check a work tree, read its branch and remote.

Every command names its directory with ``-C``, runs no hook of the repository, never
prompts (a clone needing a password fails instead of hanging a server), ignores the
caller's ``GIT_DIR``-style variables and may use only the transports ``sources.py``
allows (``GIT_ALLOW_PROTOCOL`` also covers anything git would fetch on its own).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import uuid
from pathlib import Path

from orchestrate.core.errors import (
    Conflict,
    IntegrationError,
    ValidationFailed,
)
from orchestrate.core.git import GitResult, git_environment, run_git
from orchestrate.repositories.sources import ALLOWED_SCHEMES, without_password

_READ_TIME_LIMIT = 30.0
CLONE_TIME_LIMIT = 900.0
_ERROR_LINES = 6


def _error_text(result: GitResult) -> str:
    """The last lines git wrote to stderr, any password of a URL in them removed."""
    lines = [
        line
        for line in result.stderr.splitlines()
        if line.strip() and not line.startswith("Cloning into")
    ]
    return without_password("\n".join(lines[-_ERROR_LINES:])) or f"exit {result.returncode}"


def _environment() -> dict[str, str]:
    return git_environment(
        {
            "GIT_ALLOW_PROTOCOL": ":".join(ALLOWED_SCHEMES),
            # ssh asks no question either (an unknown host key fails the clone).
            "GIT_SSH_COMMAND": os.environ.get("GIT_SSH_COMMAND", "ssh -o BatchMode=yes"),
        }
    )


async def _git(*args: str, time_limit: float = _READ_TIME_LIMIT) -> GitResult:
    return await run_git(*args, time_limit=time_limit, env=_environment())


async def work_tree_root(path: Path) -> Path:
    """The top of the work tree ``path`` is in; ``ValidationFailed`` when it is in none."""
    if not await asyncio.to_thread(path.is_dir):
        raise ValidationFailed(
            f"{path} is not a directory: give the path of a git work tree, or a URL to clone",
            field="source",
            path=str(path),
        )
    result = await _git("-C", str(path), "rev-parse", "--is-inside-work-tree", "--show-toplevel")
    lines = result.stdout.splitlines()
    if not result.ok or len(lines) < 2 or lines[0] != "true":
        raise ValidationFailed(
            f"{path} is not a git work tree (a bare repository or a plain directory): "
            "give the path of a clone, or its URL to clone it",
            field="source",
            path=str(path),
        )
    return await asyncio.to_thread(Path(lines[1]).resolve)


async def clone(url: str, destination: Path, *, remote: str) -> None:
    """Clone ``url`` into ``destination`` (which must not exist) with ``remote`` as its name.

    A failed clone leaves nothing behind: it goes to a sibling directory first and is
    moved into place only once complete, and that directory is removed on any failure.
    """
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(f".{destination.name}.partial-{uuid.uuid4().hex[:12]}")
    try:
        result = await _git(
            *("clone", "--origin", remote, "--no-recurse-submodules", "--", url, str(partial)),
            time_limit=CLONE_TIME_LIMIT,
        )
        if not result.ok:
            raise IntegrationError(
                f"Could not clone {without_password(url)}: {_error_text(result)}",
                url=without_password(url),
            )
        try:
            partial.rename(destination)
        except OSError:
            raise Conflict(
                f"{destination} appeared while cloning (another 'repo add' of the same "
                "repository?): nothing was registered",
                path=str(destination),
            ) from None
    finally:
        shutil.rmtree(partial, ignore_errors=True)
        remove_if_empty(destination.parent)


def remove_if_empty(directory: Path) -> None:
    """Remove ``directory`` if nothing is in it (an owner's folder of the clone cache)."""
    with contextlib.suppress(OSError):
        directory.rmdir()


async def detect_default_branch(path: Path, remote: str) -> str | None:
    """The remote's default branch (``<remote>/HEAD``), else the checked-out branch."""
    result = await _git(
        "-C", str(path), "symbolic-ref", "--quiet", "--short", f"refs/remotes/{remote}/HEAD"
    )
    prefix = f"{remote}/"
    if result.ok and result.stdout.strip().startswith(prefix):
        return result.stdout.strip().removeprefix(prefix)
    current = await _git("-C", str(path), "symbolic-ref", "--quiet", "--short", "HEAD")
    return current.stdout.strip() or None if current.ok else None


async def has_branch(path: Path, remote: str, branch: str) -> bool:
    """Whether ``branch`` exists in the repository, locally or as ``<remote>/<branch>``."""
    for ref in (f"refs/heads/{branch}", f"refs/remotes/{remote}/{branch}"):
        found = await _git("-C", str(path), "rev-parse", "--verify", "--quiet", ref)
        if found.ok:
            return True
    return False


async def remote_url(path: Path, remote: str) -> str | None:
    """The URL of ``remote`` in the repository at ``path`` (no password), if it has one."""
    result = await _git("-C", str(path), "remote", "get-url", "--", remote)
    url = result.stdout.strip()
    return without_password(url) if result.ok and url else None
