"""Confinement of model-given paths to the agent's workspace.

Every path a file tool touches goes through ``resolve_in_workspace``: the path is
joined to the workspace root and fully resolved (``..`` folded, every symlink followed,
including the last component and dangling links), and only then compared with the
resolved root. Checking the resolved path, not the text, is what catches a symlink in
the middle (``docs -> /etc``) or at the leaf (``notes.txt -> ~/.ssh/id_rsa``).

This guards against the model's mistakes and against links committed into a
repository; it is not a sandbox. ``bash`` runs with the same rights as the worker, and a
process racing to swap a directory for a link between the check and the use is out of
scope.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

from orchestrate.agents.tools.base import ToolInputError

GIT_DIR_NAME = ".git"


def workspace_root(workspace: Path) -> Path:
    """The workspace as a resolved absolute path, the form every check compares with."""
    return workspace.resolve()


def resolve_in_workspace(workspace: Path, raw: str, *, for_write: bool = False) -> Path:
    """The real path ``raw`` names inside ``workspace``; ``ToolInputError`` if it leaves it.

    Relative paths are taken from the workspace root; absolute paths are accepted only
    when they lead inside it. With ``for_write`` the repository's ``.git`` (a directory,
    or a file in a worktree) and anything below it is refused, so an agent cannot
    rewrite history or hooks by writing files.
    """
    if not raw.strip():
        raise ToolInputError("The path is empty; give a path relative to the workspace root")
    if "\x00" in raw:
        raise ToolInputError(f"The path {raw!r} contains a NUL character")
    root = workspace_root(workspace)
    candidate = Path(os.path.expanduser(raw)) if raw.startswith("~") else Path(raw)
    if not candidate.is_absolute():
        candidate = root / candidate
    try:
        resolved = candidate.resolve()
    except RuntimeError:  # Python 3.11 reports a symlink loop this way
        raise ToolInputError(f"The path '{raw}' is a symlink loop") from None
    except OSError as error:
        raise ToolInputError(f"The path '{raw}' cannot be resolved: {error.strerror}") from None
    if not resolved.is_relative_to(root):
        raise ToolInputError(
            f"path '{raw}' is outside the workspace; use a path inside {root} "
            "(symlinks are followed before this check)"
        )
    if for_write and is_in_git_dir(root, resolved):
        raise ToolInputError(
            f"path '{raw}' is inside the repository's .git; it cannot be written with file "
            "tools. Use the git tool for commits"
        )
    return resolved


def is_in_git_dir(root: Path, resolved: Path) -> bool:
    """Whether ``resolved`` is a ``.git`` entry, or below one, anywhere in the workspace."""
    parts = resolved.relative_to(root).parts
    return any(part.casefold() == GIT_DIR_NAME for part in parts)


def display_path(root: Path, resolved: Path) -> str:
    """How a tool names a resolved path back to the model: relative, with ``/``."""
    relative = resolved.relative_to(root).as_posix()
    return "." if relative in ("", ".") else relative


def walk_files(root: Path, start: Path) -> Iterator[Path]:
    """Files under ``start`` (a resolved directory inside ``root``), ``.git`` pruned.

    Links to directories are not descended (they may lead out of the workspace or loop);
    links to files are yielded only when their target is inside the workspace. The
    order is deterministic: directories and names sorted.
    """
    for directory, subdirectories, files in os.walk(start, followlinks=False):
        subdirectories[:] = sorted(d for d in subdirectories if d.casefold() != GIT_DIR_NAME)
        for name in sorted(files):
            if name.casefold() == GIT_DIR_NAME:  # a worktree's or submodule's .git file
                continue
            path = Path(directory, name)
            if path.is_symlink() and not _target_is_inside(root, path):
                continue
            yield path


def _target_is_inside(root: Path, link: Path) -> bool:
    try:
        target = link.resolve()
    except (OSError, RuntimeError):
        return False
    return target.is_relative_to(root) and target.is_file()


def glob_matcher(pattern: str) -> Callable[[str], bool]:
    """A test of a ``/``-separated relative path against a glob pattern.

    ``*`` and ``?`` stay within one path component, ``**`` spans any number of them
    (``**/*.py`` also matches ``setup.py`` at the top), ``[abc]`` is a class.
    """
    regex = re.compile(_glob_to_regex(pattern.strip().removeprefix("./")), re.DOTALL)
    return lambda path: regex.fullmatch(path) is not None


def _glob_to_regex(pattern: str) -> str:
    out: list[str] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if pattern.startswith("**/", index):
            out.append("(?:.*/)?")
            index += 3
        elif pattern.startswith("**", index):
            out.append(".*")
            index += 2
        elif char == "*":
            out.append("[^/]*")
            index += 1
        elif char == "?":
            out.append("[^/]")
            index += 1
        elif char == "[" and (end := pattern.find("]", index + 2)) != -1:
            body = pattern[index + 1 : end]
            if body.startswith("!"):
                body = "^" + body[1:]
            out.append("[" + body.replace("\\", "\\\\") + "]")
            index = end + 1
        else:
            out.append(re.escape(char))
            index += 1
    return "".join(out)
