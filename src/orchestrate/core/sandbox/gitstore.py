"""A worktree's private git state in the sandbox: its own object store and its own branch.

Bound writable, the shared ``objects/`` would let a command delete every object of
the user's repository, and the shared ``refs/heads/orchestrate/`` would let it move
other agents' branches. So a sandboxed command gets private stand-ins, kept by the
server in ``<common>/orchestrate-sandbox/<worktree>/``:

- ``objects/`` is mounted over the repository's ``objects/``, with the real store as a
  read-only alternate (``/run/orchestrate/git-objects``): git reads everything and
  writes only here;
- ``refs/`` holds one file, the worktree's own branch, and is mounted over the
  directory that branch lives in; ``logs/`` does the same for its reflog.

Around each command the server keeps them in step with the repository: before, the
branch file gets the branch's current commit if it moved meanwhile; after, the new
objects are verified and adopted (``objects.adopt_objects``) and the branch is moved
with ``git update-ref`` from the commit it had — only this branch, only to a commit
the shared store holds. Which branch that is was recorded when the workspace was made
(``record_branch``), never read from the worktree's ``HEAD``, which a command can
rewrite. A ``flock`` on ``lock`` orders the steps of concurrent commands.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import structlog

from orchestrate.core.sandbox.host_git import run_git
from orchestrate.core.sandbox.objects import adopt_objects

log = structlog.get_logger(__name__)

PRIVATE_ROOT = "orchestrate-sandbox"
SHARED_OBJECTS_INSIDE = "/run/orchestrate/git-objects"
"""Where the repository's real object store is mounted, read-only, inside the sandbox."""

BRANCH_PATTERN = re.compile(r"refs/heads/[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)+")
"""A branch with a directory part: mounting over ``refs/heads`` itself would hide the
user's branches."""

_COMMIT = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
_BRANCH_FILE = "branch"
_SYNCED_FILE = "synced"
_LOCK_FILE = "lock"
_READ_LIMIT = 256


@dataclass(frozen=True)
class PrivateGit:
    """The private store of the worktree whose admin directory is ``worktrees/<name>``."""

    common: Path
    root: Path
    branch: str | None

    @classmethod
    def of(cls, common: Path, admin_name: str) -> PrivateGit:
        root = common / PRIVATE_ROOT / admin_name
        recorded = _read_small(root / _BRANCH_FILE)
        branch = recorded if recorded and BRANCH_PATTERN.fullmatch(recorded) else None
        if branch is not None and ".." in Path(branch).parts:
            branch = None
        return cls(common=common, root=root, branch=branch)

    @property
    def objects(self) -> Path:
        return self.root / "objects"

    @property
    def refs(self) -> Path:
        return self.root / "refs"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def branch_directory(self) -> Path:
        """The repository directory the private ``refs/`` is mounted over."""
        assert self.branch is not None
        return (self.common / self.branch).parent

    @property
    def reflog_directory(self) -> Path:
        assert self.branch is not None
        return (self.common / "logs" / self.branch).parent

    def prepare(self) -> None:
        """Make the private store ready for a command; call before starting it."""
        with self._locked():
            for directory in (self.objects, self.refs, self.logs):
                directory.mkdir(parents=True, exist_ok=True)
            self._point_at_shared_objects()
            if self.branch is None:
                return
            for mount_point in (self.branch_directory, self.reflog_directory):
                mount_point.mkdir(parents=True, exist_ok=True)
            real = self._real_commit()
            if real is None:
                return
            synced = _read_small(self.root / _SYNCED_FILE)
            private = self._private_commit()
            if real != synced or private is None:
                _replace(self.refs, Path(self.branch).name, f"{real}\n")
                _replace(self.root, _SYNCED_FILE, real)

    def adopt(self, *, max_object_bytes: int) -> None:
        """Adopt what a command wrote; call once it has ended."""
        with self._locked():
            adopt_objects(self.objects, self.common / "objects", max_object_bytes=max_object_bytes)
            if self.branch is not None:
                self._move_branch()

    def _move_branch(self) -> None:
        assert self.branch is not None
        wanted = self._private_commit()
        synced = _read_small(self.root / _SYNCED_FILE)
        if wanted is None or synced is None or wanted == synced:
            return
        real = self._real_commit()
        if real != synced:
            log.warning(
                "sandbox_branch_moved_meanwhile",
                branch=self.branch,
                kept=real,
                dropped=wanted,
                detail="the branch moved outside the sandbox while a command ran",
            )
            return
        moved = run_git(self.common, "update-ref", "-m", "sandbox", self.branch, wanted, synced)
        if moved.returncode != 0:
            log.warning("sandbox_branch_not_moved", branch=self.branch, reason=moved.stderr.strip())
            return
        _replace(self.root, _SYNCED_FILE, wanted)

    def _point_at_shared_objects(self) -> None:
        """Write ``objects/info/alternates``; ``info`` is the command's, so trust no link."""
        objects = os.open(self.objects, os.O_RDONLY | os.O_DIRECTORY)
        try:
            info = _own_directory(objects, "info")
            try:
                _replace_at(info, "alternates", f"{SHARED_OBJECTS_INSIDE}\n")
            finally:
                os.close(info)
        finally:
            os.close(objects)

    def _real_commit(self) -> str | None:
        assert self.branch is not None
        loose = _read_small(self.common / self.branch)  # never writable from a sandbox
        if loose is not None and _COMMIT.fullmatch(loose):
            return loose
        found = run_git(self.common, "rev-parse", "--verify", "--quiet", self.branch)
        value = found.stdout.strip()
        return value if found.returncode == 0 and _COMMIT.fullmatch(value) else None

    def _private_ref(self) -> Path:
        assert self.branch is not None
        return self.refs / Path(self.branch).name

    def _private_commit(self) -> str | None:
        """The commit the command left in its branch file, read without following links."""
        try:
            descriptor = os.open(self._private_ref(), os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:
            return None
        try:
            value = os.read(descriptor, _READ_LIMIT).decode("ascii", "replace").strip()
        finally:
            os.close(descriptor)
        return value if _COMMIT.fullmatch(value) else None

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(self.root / _LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            yield
        finally:
            os.close(descriptor)


def record_branch(common: Path, admin_name: str, branch: str) -> None:
    """Remember which branch the worktree ``worktrees/<admin_name>`` may move."""
    if not BRANCH_PATTERN.fullmatch(branch) or ".." in Path(branch).parts:
        raise ValueError(f"{branch!r} is not a branch the sandbox can give a worktree")
    root = common / PRIVATE_ROOT / admin_name
    root.mkdir(parents=True, exist_ok=True)
    _replace(root, _BRANCH_FILE, branch)


def discard(common: Path, admin_name: str) -> None:
    """Delete the private store of a worktree that is being removed."""
    if "/" in admin_name or admin_name in {"", ".", ".."}:
        return
    shutil.rmtree(common / PRIVATE_ROOT / admin_name, ignore_errors=True)


def _read_small(path: Path) -> str | None:
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        return os.read(descriptor, _READ_LIMIT).decode("utf-8", "replace").strip()
    finally:
        os.close(descriptor)


def _replace(directory: Path, name: str, text: str) -> None:
    """Atomically set ``directory/name`` (a directory no command can replace) to ``text``."""
    descriptor = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        _replace_at(descriptor, name, text)
    finally:
        os.close(descriptor)


def _replace_at(directory: int, name: str, text: str) -> None:
    """Write a new file and rename it over ``name``: a link planted there is replaced,
    never followed, and ``O_EXCL`` refuses one planted at the temporary name."""
    temporary = f".{name}.{secrets.token_hex(8)}.tmp"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
    descriptor = os.open(temporary, flags, 0o644, dir_fd=directory)
    try:
        os.write(descriptor, text.encode())
    finally:
        os.close(descriptor)
    os.replace(temporary, name, src_dir_fd=directory, dst_dir_fd=directory)


def _own_directory(parent: int, name: str) -> int:
    """Open ``name`` under ``parent`` as a real directory, replacing a link or file."""
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
    try:
        return os.open(name, flags, dir_fd=parent)
    except FileNotFoundError:
        pass
    except OSError:  # a symbolic link or a file where the directory should be
        os.unlink(name, dir_fd=parent)
    os.mkdir(name, dir_fd=parent)
    return os.open(name, flags, dir_fd=parent)
