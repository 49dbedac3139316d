"""Lockfile and manifest readers: which packages, at which versions, a project uses.

``read_dependencies(root)`` finds every supported file in a tree; ``read_file(path,
root)`` reads one. Supported: requirements/constraints files, poetry.lock, uv.lock,
Pipfile.lock, package-lock.json (v1, v2, v3), yarn.lock (classic and Berry), Cargo.lock,
go.sum (with go.mod).
"""

from __future__ import annotations

from orchestrate.security.dependencies.discovery import (
    find_dependency_files,
    read_dependencies,
    read_file,
)
from orchestrate.security.dependencies.naming import normalise_name

__all__ = ["find_dependency_files", "normalise_name", "read_dependencies", "read_file"]
