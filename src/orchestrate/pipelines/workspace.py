"""Each run's working directory: a detached git worktree when the pipeline has a repository.

Created by the first step that needs it (outside any transaction), shared by the
run's steps, removed by a job when the run ends. The path is fixed when the run is
created, so parallel steps and a worker restarted after a crash find the same one.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import shutil
from pathlib import Path
from typing import IO

from orchestrate.core.errors import ValidationFailed
from orchestrate.core.sandbox.gitdirs import discard_private_store

_GIT_TIME_LIMIT = 120.0
_LOCK_POLL_SECONDS = 0.02


def workspace_root(home: Path) -> Path:
    return home / "pipelines" / "workspaces"


def logs_root(home: Path) -> Path:
    return home / "pipelines" / "logs"


async def ensure_workspace(path: Path, repo: Path | None) -> Path:
    """Create the run's directory (or worktree of ``repo`` at HEAD) unless it exists.

    Parallel steps of a run may all ask at once; a file lock makes one of them create it.
    """
    if repo is None:
        await asyncio.to_thread(path.mkdir, parents=True, exist_ok=True)
        return path
    if await asyncio.to_thread((path / ".git").exists):
        return path
    await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
    lock_path = path.parent / f".{path.name}.lock"
    with lock_path.open("a") as lock:
        await _lock_exclusively(lock)
        try:
            if not await asyncio.to_thread((path / ".git").exists):
                await _git(repo, "worktree", "add", "--detach", str(path), "HEAD")
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return path


async def _lock_exclusively(lock: IO[str]) -> None:
    """Take ``lock``'s exclusive ``flock``, waiting on the event loop, not in a thread.

    Parallel steps of a run all wait here; waiting in threads took every thread of the
    default executor, and the step holding the lock needs one to go on (a deadlock).
    """
    while True:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            await asyncio.sleep(_LOCK_POLL_SECONDS)


async def remove_workspace(path: Path, repo: Path | None) -> None:
    if repo is not None and (path / ".git").exists():
        await asyncio.to_thread(discard_private_store, path)
        with contextlib.suppress(ValidationFailed):
            await _git(repo, "worktree", "remove", "--force", str(path))
    await asyncio.to_thread(shutil.rmtree, path, True)
    await asyncio.to_thread((path.parent / f".{path.name}.lock").unlink, missing_ok=True)
    if repo is not None:
        with contextlib.suppress(ValidationFailed):
            await _git(repo, "worktree", "prune")


async def _git(repo: Path, *args: str) -> str:
    process = await asyncio.create_subprocess_exec(
        "git",
        "-C",
        str(repo),
        "-c",
        "core.hooksPath=/dev/null",  # no repository hook runs for a run's workspace
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), _GIT_TIME_LIMIT)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise ValidationFailed(
            f"git {' '.join(args)} took longer than {_GIT_TIME_LIMIT:.0f}s"
        ) from None
    text = output.decode(errors="replace")
    if process.returncode != 0:
        raise ValidationFailed(f"git {' '.join(args)} failed in {repo}: {text.strip()}")
    return text
