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
from dataclasses import dataclass
from pathlib import Path

from orchestrate.core.errors import (
    ConfigurationError,
    Conflict,
    IntegrationError,
    ValidationFailed,
)
from orchestrate.repositories.sources import ALLOWED_SCHEMES, without_password

_GIT_LOCATION_VARIABLES = frozenset(
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
_READ_TIME_LIMIT = 30.0
CLONE_TIME_LIMIT = 900.0
_ERROR_LINES = 6


@dataclass(frozen=True)
class _GitResult:
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def error_text(self) -> str:
        lines = [
            line
            for line in self.stderr.splitlines()
            if line.strip() and not line.startswith("Cloning into")
        ]
        return without_password("\n".join(lines[-_ERROR_LINES:])) or f"exit {self.returncode}"


def _environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k.upper() not in _GIT_LOCATION_VARIABLES}
    env.update(
        GIT_TERMINAL_PROMPT="0",
        GIT_OPTIONAL_LOCKS="0",
        GIT_ALLOW_PROTOCOL=":".join(ALLOWED_SCHEMES),
        # ssh asks no question either (an unknown host key fails the clone).
        GIT_SSH_COMMAND=env.get("GIT_SSH_COMMAND", "ssh -o BatchMode=yes"),
    )
    return env


async def _git(*args: str, time_limit: float = _READ_TIME_LIMIT) -> _GitResult:
    try:
        process = await asyncio.create_subprocess_exec(
            *("git", "-c", "core.hooksPath=/dev/null", *args),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=_environment(),
        )
    except FileNotFoundError:
        raise ConfigurationError("git is not installed or not on PATH; install git") from None
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), time_limit)
    except (TimeoutError, asyncio.CancelledError) as error:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
        if isinstance(error, asyncio.CancelledError):
            raise
        raise IntegrationError(
            f"git {args[2] if args[0] == '-C' else args[0]} took longer than "
            f"{time_limit:g} s and was stopped",
        ) from None
    return _GitResult(
        process.returncode or 0, stdout.decode(errors="replace"), stderr.decode(errors="replace")
    )


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
                f"Could not clone {without_password(url)}: {result.error_text()}",
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
