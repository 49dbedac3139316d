"""Which files of a tree SAST looks at, the same for Bandit and Semgrep.

Virtual environments, dependency folders, build output and test suites are skipped by
default (as Semgrep's own default ignore list does): findings there are either someone
else's code or deliberate (tests call ``subprocess`` with literals and ``assert``
everywhere). Callers add their own ``exclude`` globs. Symlinks are never followed, so a
hostile tree cannot point the scan outside itself or into a loop.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

# Directory names skipped wherever they appear.
DEFAULT_EXCLUDED_DIRS: tuple[str, ...] = (
    ".git",
    ".hg",
    ".svn",
    ".tox",
    ".nox",
    ".venv",
    "venv",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    "__pycache__",
    "node_modules",
    "site-packages",
    "vendor",
    "third_party",
    "dist",
    "build",
    "test",
    "tests",
)

# Files larger than this are not analysed (a notice says so): parsing a multi-megabyte
# generated or minified file costs seconds and finds nothing a human wrote.
DEFAULT_MAX_FILE_BYTES = 1_000_000


@dataclass(frozen=True, slots=True)
class TreeFilter:
    """The exclusion rules for one scan: default directory names plus caller globs,
    matched against the path relative to the root (``/`` separators) and its name."""

    exclude: tuple[str, ...] = ()
    excluded_dirs: tuple[str, ...] = DEFAULT_EXCLUDED_DIRS

    def is_excluded_dir(self, relative: str, name: str) -> bool:
        if name in self.excluded_dirs:
            return True
        return self._matches(relative, name)

    def is_excluded_file(self, relative: str, name: str) -> bool:
        return self._matches(relative, name)

    def _matches(self, relative: str, name: str) -> bool:
        for pattern in self.exclude:
            stripped = pattern.rstrip("/")
            if fnmatch.fnmatchcase(relative, stripped) or fnmatch.fnmatchcase(name, stripped):
                return True
            if fnmatch.fnmatchcase(relative, f"{stripped}/*"):
                return True
        return False


def walk_files(root: Path, tree_filter: TreeFilter, suffixes: Sequence[str]) -> Iterator[Path]:
    """The regular files under ``root`` whose name ends with one of ``suffixes``, in a
    stable order, skipping excluded and virtual-environment directories."""
    for directory, dir_names, file_names in os.walk(root, followlinks=False):
        base = Path(directory)
        kept = []
        for name in sorted(dir_names):
            path = base / name
            relative = relative_path(root, path)
            if path.is_symlink() or tree_filter.is_excluded_dir(relative, name):
                continue
            if (path / "pyvenv.cfg").is_file():  # a virtual environment by another name
                continue
            kept.append(name)
        dir_names[:] = kept
        for name in sorted(file_names):
            if not name.endswith(tuple(suffixes)):
                continue
            path = base / name
            if path.is_symlink() or not path.is_file():
                continue
            if tree_filter.is_excluded_file(relative_path(root, path), name):
                continue
            yield path


def relative_path(root: Path, path: Path) -> str:
    """``path`` relative to ``root`` with ``/`` separators, as findings carry it."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def normalise_code(text: str) -> str:
    """Matched code with whitespace collapsed: what a fingerprint hashes, so re-indenting
    or moving the code does not make a finding new."""
    return " ".join(text.split())
