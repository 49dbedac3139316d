"""Which parts of a repository's git directory a sandboxed worktree may write.

A worktree's ``.git`` is a file pointing at its admin directory
(``<common>/worktrees/<name>``) inside the repository's common git directory. A
commit on the worktree's branch writes objects, that branch's loose ref and its
reflog, and the admin directory (``HEAD``, ``index``). Everything else of the common
directory is the user's: ``config``, ``hooks/``, ``info/``, other branches. So the
common directory is bound read-only and only those places read-write on top of it:
a planted hook or a ``core.hooksPath`` can then not be written at all.

Everything read here lives where a sandboxed command could have written it (the
``.git`` file in the workspace, the admin directory's ``HEAD``), so nothing is taken
on trust: the admin directory must be ``<common>/worktrees/<name>`` of a real git
directory and point back at this very workspace, the ``.git`` file itself is bound
read-only, and the branch's directories must lie under ``refs/heads`` without a
symbolic link on the way. Anything else gets no git binds at all (git then fails
inside, which is the safe way to fail): never a bind of a path the command chose.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_PROTECTED_IN_PLAIN_REPOSITORY = ("config", "hooks", "info")
_SAFE_REF = re.compile(r"refs/heads/[A-Za-z0-9._/-]+")


@dataclass(frozen=True)
class GitBinds:
    read_only: tuple[Path, ...] = ()
    writable: tuple[Path, ...] = ()
    protected: tuple[Path, ...] = ()
    """Paths inside the writable workspace re-bound read-only over themselves."""


def git_binds(workspace: Path) -> GitBinds:
    """The binds ``workspace`` needs for git to work on its own branch and nothing more."""
    dot_git = workspace / ".git"
    if dot_git.is_dir():
        protected = tuple(
            dot_git / name for name in _PROTECTED_IN_PLAIN_REPOSITORY if (dot_git / name).exists()
        )
        return GitBinds(protected=protected)
    admin = _admin_directory(dot_git)
    common = _common_directory(admin) if admin is not None else None
    if admin is None or common is None or not _points_back(admin, dot_git):
        return GitBinds()
    writable = [admin, common / "objects"]
    branch_dir = _branch_directory(admin, common)
    if branch_dir is not None:
        writable.extend(branch_dir)
    return GitBinds(read_only=(common,), writable=tuple(writable), protected=(dot_git,))


def _points_back(admin: Path, dot_git: Path) -> bool:
    """Whether the admin directory is git's own record of this very worktree."""
    try:
        recorded = (admin / "gitdir").read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return False
    return Path(recorded).resolve() == dot_git.resolve()


def _free_of_links(directory: Path, base: Path) -> bool:
    """Whether ``directory`` lies under ``base`` with no symbolic link on the way."""
    if not directory.is_relative_to(base):
        return False
    current = base
    for part in directory.relative_to(base).parts:
        current = current / part
        if current.is_symlink():
            return False
    return not base.is_symlink()


def _admin_directory(dot_git: Path) -> Path | None:
    try:
        text = dot_git.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    if not text.startswith("gitdir:"):
        return None
    admin = Path(text.removeprefix("gitdir:").strip())
    if not admin.is_absolute():
        admin = dot_git.parent / admin
    admin = admin.resolve()
    return admin if admin.is_dir() else None


def _common_directory(admin: Path) -> Path | None:
    try:
        relative = (admin / "commondir").read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    common = (admin / relative).resolve()
    is_git_directory = (common / "objects").is_dir() and (common / "HEAD").is_file()
    if not is_git_directory or admin.parent != common / "worktrees":
        return None
    return common


def _branch_directory(admin: Path, common: Path) -> list[Path] | None:
    """The directories holding the worktree branch's loose ref and its reflog.

    They are created here, outside the sandbox, because a bind needs an existing
    target; a detached worktree has no branch and needs neither.
    """
    try:
        head = (admin / "HEAD").read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    if not head.startswith("ref: refs/heads/"):
        return None
    ref = head.removeprefix("ref: ")
    if not _SAFE_REF.fullmatch(ref) or ".." in Path(ref).parts:
        return None
    ref_dir = (common / ref).parent
    log_dir = (common / "logs" / ref).parent
    for directory, base in ((ref_dir, common / "refs"), (log_dir, common / "logs")):
        if not _free_of_links(directory, base):
            return None
        directory.mkdir(parents=True, exist_ok=True)
    # refs/heads itself holds the user's branches: never bind it writable as a whole.
    if ref_dir == common / "refs" / "heads":
        return [log_dir]
    return [ref_dir, log_dir]
