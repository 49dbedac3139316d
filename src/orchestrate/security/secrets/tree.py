"""Scanning a working tree: every file under the root, read once, as bytes.

Skipped: version control folders, installed packages (``node_modules``, virtual
environments, ``site-packages``) and tool caches; symlinks (never followed, so a
hostile tree cannot point the scan outside itself or into a loop); files above the size
limit; binary files (a NUL byte in the first 8 KiB, as git decides); paths the caller
excludes and paths the configuration allowlists; and Orchestrate baseline files,
whatever their name. A file that cannot be read is skipped, not fatal.
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

from orchestrate.security.models import Finding
from orchestrate.security.secrets.engine import Detector
from orchestrate.security.secrets.findings import to_findings
from orchestrate.security.secrets.models import SecretsConfig

_SKIPPED_DIRS = frozenset(
    {
        # version control
        ".git",
        ".hg",
        ".svn",
        # installed packages: someone else's code, already public (a folder holding a
        # ``pyvenv.cfg`` is skipped too, whatever its name)
        ".venv",
        "venv",
        "node_modules",
        "site-packages",
        # tool caches
        "__pycache__",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".tox",
        ".nox",
    }
)
_BINARY_PROBE = 8192
_BASELINE_MARK = re.compile(rb'"generated_by"\s*:\s*"orchestrate security baseline"')


def scan_tree(
    root: Path, config: SecretsConfig, *, exclude_paths: Sequence[str] = ()
) -> list[Finding]:
    """Findings for every secret in the files under ``root``, sorted by path and line."""
    detector = Detector(config)
    skip = PathFilter(exclude_paths, config.allowlist_paths)
    findings: list[Finding] = []
    for path, relative in _files(root, skip):
        data = read_text_file(path, config.max_file_size)
        if data is None or is_baseline(data):
            continue
        hits = detector.detect(data, relative)
        if hits:
            findings.extend(to_findings(hits, data, relative))
    return sorted(findings, key=lambda f: (f.location.path, f.location.start_line or 0))


class PathFilter:
    """Exact relative paths the caller excludes, and the configuration's globs
    (``fnmatch``, where ``*`` also crosses ``/``; ``dir/`` or ``dir/**`` a folder)."""

    def __init__(self, exact: Sequence[str], globs: Sequence[str]) -> None:
        self._exact = frozenset(path.strip("/") for path in exact)
        self._globs = tuple(
            pattern[:-3] if pattern.endswith("/**") else pattern.rstrip("/") for pattern in globs
        )

    def skips(self, relative: str) -> bool:
        if relative in self._exact:
            return True
        name = relative.rsplit("/", 1)[-1]
        for pattern in self._globs:
            if fnmatch.fnmatchcase(relative, pattern) or fnmatch.fnmatchcase(name, pattern):
                return True
            if fnmatch.fnmatchcase(relative, f"{pattern}/*"):
                return True
        return False


def read_text_file(path: Path | str, max_size: int) -> bytes | None:
    """The file's bytes, or ``None`` when it is too large, binary or unreadable."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(max_size + 1)
    except OSError:
        return None
    if len(data) > max_size or b"\x00" in data[:_BINARY_PROBE]:
        return None
    return data


def is_baseline(data: bytes) -> bool:
    """An Orchestrate baseline file (security/baseline.py writes the mark near the top)."""
    return data[:1] == b"{" and _BASELINE_MARK.search(data, 0, 4096) is not None


def _files(root: Path, skip: PathFilter) -> Iterator[tuple[str, str]]:
    """(absolute path, relative posix path) of every regular file, in a stable order."""
    stack = [(str(root), "")]
    while stack:
        directory, prefix = stack.pop()
        try:
            with os.scandir(directory) as entries:
                listed = sorted(entries, key=lambda entry: entry.name, reverse=True)
        except OSError:
            continue
        for entry in listed:
            relative = prefix + entry.name
            if entry.is_symlink():
                continue
            if entry.is_dir(follow_symlinks=False):
                if _is_walked(entry.name, entry.path) and not skip.skips(relative):
                    stack.append((entry.path, relative + "/"))
            elif entry.is_file(follow_symlinks=False) and not skip.skips(relative):
                yield entry.path, relative


def _is_walked(name: str, path: str) -> bool:
    """Whether a folder holds the project's own files (not packages, caches or VCS)."""
    return name not in _SKIPPED_DIRS and not os.path.isfile(os.path.join(path, "pyvenv.cfg"))
