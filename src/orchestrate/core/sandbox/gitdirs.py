"""Which parts of a repository's git directory a sandboxed worktree may write.

A worktree's ``.git`` is a file pointing at its admin directory
(``<common>/worktrees/<name>``) inside the repository's common git directory. A
commit on the worktree's branch writes objects, that branch's loose ref and its
reflog, and the admin directory (``HEAD``, ``index``). Everything else of the common
directory is the user's: ``config``, ``hooks/``, ``info/``, the object store, other
branches. So the common directory is bound read-only; the admin directory is bound
read-write on top, and objects, the branch and its reflog get private stand-ins
(``gitstore``) that the server adopts into the repository after the command.

Everything read here lives where a sandboxed command could have written it (the
``.git`` file in the workspace, the admin directory), so nothing is taken on trust:
the admin directory must be ``<common>/worktrees/<name>`` of a real git directory and
point back at this very workspace, the ``.git`` file itself is bound read-only, and
the branch the worktree may move is the one recorded when it was made, never its
``HEAD``. Anything else gets no git binds at all (git then fails inside, which is the
safe way to fail): never a bind of a path the command chose.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from orchestrate.core.sandbox import gitstore
from orchestrate.core.sandbox.gitstore import SHARED_OBJECTS_INSIDE, PrivateGit

_PROTECTED_IN_PLAIN_REPOSITORY = ("config", "hooks", "info")

Bind = tuple[Path, Path]
"""A host path and where it appears inside the sandbox."""


@dataclass(frozen=True)
class GitBinds:
    read_only: tuple[Bind, ...] = ()
    writable: tuple[Bind, ...] = ()
    protected: tuple[Path, ...] = ()
    """Paths inside the writable workspace re-bound read-only over themselves."""
    private: PrivateGit | None = None
    """The worktree's private store: prepare it before the command, adopt it after."""


def git_binds(workspace: Path) -> GitBinds:
    """The binds ``workspace`` needs for git to work on its own branch and nothing more."""
    dot_git = workspace / ".git"
    if dot_git.is_dir():
        protected = tuple(
            dot_git / name for name in _PROTECTED_IN_PLAIN_REPOSITORY if (dot_git / name).exists()
        )
        return GitBinds(protected=protected)
    located = locate_worktree(workspace)
    if located is None:
        return GitBinds()
    admin, common = located
    private = PrivateGit.of(common, admin.name)
    writable: list[Bind] = [(admin, admin), (private.objects, common / "objects")]
    if private.branch is not None:
        writable.append((private.refs, private.branch_directory))
        writable.append((private.logs, private.reflog_directory))
    read_only = ((common, common), (common / "objects", Path(SHARED_OBJECTS_INSIDE)))
    return GitBinds(
        read_only=read_only, writable=tuple(writable), protected=(dot_git,), private=private
    )


def locate_worktree(workspace: Path) -> tuple[Path, Path] | None:
    """``(admin, common)`` of the linked worktree at ``workspace``, if it checks out."""
    dot_git = workspace / ".git"
    admin = _admin_directory(dot_git)
    common = _common_directory(admin) if admin is not None else None
    if admin is None or common is None or not _points_back(admin, dot_git):
        return None
    return admin, common


def record_branch(workspace: Path, branch: str) -> None:
    """Remember ``branch`` (``orchestrate/…``) as the one the worktree may move.

    Called by whoever makes the worktree, before any command runs in it.
    """
    located = locate_worktree(workspace)
    if located is None:
        raise ValueError(f"{workspace} is not a linked git worktree")
    admin, common = located
    gitstore.record_branch(common, admin.name, f"refs/heads/{branch}")


def discard_private_store(workspace: Path) -> None:
    """Delete the worktree's private store; call before removing the worktree."""
    located = locate_worktree(workspace)
    if located is not None:
        admin, common = located
        gitstore.discard(common, admin.name)


def _points_back(admin: Path, dot_git: Path) -> bool:
    """Whether the admin directory is git's own record of this very worktree."""
    try:
        recorded = (admin / "gitdir").read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return False
    return Path(recorded).resolve() == dot_git.resolve()


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
