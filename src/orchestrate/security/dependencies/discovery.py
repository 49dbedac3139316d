"""Finding the lockfiles and manifests of a tree and reading each with its reader.

The walk skips what is not the project's own declaration of dependencies — installed
packages (``node_modules``, ``.venv``, ``vendor``) and version control — and never
follows symbolic links, so a link cannot lead the scan out of the root or round a loop.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from orchestrate.core.errors import ValidationFailed
from orchestrate.security.dependencies import cargo, golang, npm, python_locks, requirements, yarn
from orchestrate.security.models import Dependency

Reader = Callable[[Path, Path], list[Dependency]]

SKIPPED_DIRECTORIES = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "node_modules",
        ".venv",
        "venv",
        "vendor",
        "__pycache__",
        ".tox",
        ".nox",
    }
)
READERS: dict[str, Reader] = {
    "poetry.lock": python_locks.read_poetry,
    "uv.lock": python_locks.read_uv,
    "Pipfile.lock": python_locks.read_pipfile_lock,
    "package-lock.json": npm.read,
    "npm-shrinkwrap.json": npm.read,
    "yarn.lock": yarn.read,
    "Cargo.lock": cargo.read,
    "go.sum": golang.read,
}
MAX_FILES = 10_000


def reader_for(path: Path) -> Reader | None:
    """The reader of a file by its name, or None for a file we do not read."""
    found = READERS.get(path.name)
    if found is not None:
        return found
    return requirements.read if requirements.is_requirements_file(path) else None


def read_file(path: Path, root: Path) -> list[Dependency]:
    """The dependencies one supported file names; ``ValidationFailed`` for a file of no
    supported format or a malformed one (naming the file and line)."""
    reader = reader_for(path)
    if reader is None:
        raise ValidationFailed(
            f"{path.name} is not a lockfile or manifest we read (supported: "
            f"{', '.join(sorted(READERS))}, requirements*.txt, constraints*.txt).",
            path=str(path),
        )
    return reader(path, root)


def find_dependency_files(root: Path) -> list[Path]:
    found: list[Path] = []
    for directory, subdirectories, files in os.walk(root, followlinks=False):
        subdirectories[:] = sorted(d for d in subdirectories if d not in SKIPPED_DIRECTORIES)
        for name in sorted(files):
            path = Path(directory) / name
            if reader_for(path) is not None and not path.is_symlink():
                found.append(path)
                if len(found) > MAX_FILES:
                    raise ValidationFailed(
                        f"{root} holds more than {MAX_FILES} lockfiles and manifests; scan a "
                        "smaller folder.",
                        path=str(root),
                    )
    return found


def read_dependencies(root: Path) -> list[Dependency]:
    """Every dependency of every supported file under ``root``, each once (a
    requirements file included by another is read once)."""
    seen: set[tuple[object, ...]] = set()
    found: list[Dependency] = []
    for path in find_dependency_files(root):
        for dependency in read_file(path, root):
            key = (
                dependency.ecosystem,
                dependency.name,
                dependency.version,
                dependency.source,
                dependency.line,
            )
            if key not in seen:
                seen.add(key)
                found.append(dependency)
    return found
