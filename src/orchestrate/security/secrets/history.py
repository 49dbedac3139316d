"""Scanning git history: every commit reachable from any ref, from one ``git log -p``.

One process streams every commit's patch (``--unified=0``: only changed lines, no
context), newest first. A commit's output is searched for rule keywords once; only the
files of a commit where one occurs are cut into added lines and scanned. Each secret is
reported once per path, at the oldest commit that adds it: the one that introduced it.
Merge commits show no patch (``git log`` default): what a merge brings in was added by
the commits it merges, which are scanned themselves.
"""

from __future__ import annotations

import subprocess
import tempfile
from bisect import bisect_left
from collections.abc import Iterator, Sequence
from pathlib import Path

from orchestrate.core.errors import ValidationFailed
from orchestrate.security.models import Finding
from orchestrate.security.secrets.diff import file_sections, scan_section
from orchestrate.security.secrets.engine import Detector
from orchestrate.security.secrets.models import SecretsConfig
from orchestrate.security.secrets.tree import PathFilter

_COMMIT_MARK = b"\x00"  # git's text diffs never hold NUL (a file with one is binary)
_READ_SIZE = 1 << 20


def scan_git_history(
    root: Path, config: SecretsConfig, *, exclude_paths: Sequence[str] = ()
) -> list[Finding]:
    """Findings for every secret ever added in the repository at ``root``."""
    _require_repository(root)
    detector = Detector(config)
    skip = PathFilter(exclude_paths, config.allowlist_paths)
    oldest: dict[str, Finding] = {}
    for commit, patch in _commits(root):
        offsets = detector.candidate_offsets(patch)
        if not offsets:
            continue
        for start, end in _candidate_sections(patch, sorted(offsets)):
            for finding in scan_section(
                detector, skip, patch[start:end], config.max_file_size, commit
            ):
                # Newest first: a later (older) sighting replaces an earlier one.
                oldest[finding.fingerprint] = finding
    return sorted(oldest.values(), key=lambda f: (f.location.path, f.location.start_line or 0))


def _candidate_sections(patch: bytes, offsets: list[int]) -> Iterator[tuple[int, int]]:
    """The file sections of ``patch`` holding one of the (sorted) ``offsets``."""
    for start, end in file_sections(patch):
        index = bisect_left(offsets, start)
        if index < len(offsets) and offsets[index] < end:
            yield start, end


def _require_repository(root: Path) -> None:
    try:
        result = subprocess.run(  # noqa: S603 - a fixed argument vector
            ["git", "-C", str(root), "rev-parse", "--git-dir"],  # noqa: S607 - git from PATH
            capture_output=True,
            check=False,
        )
    except OSError as error:
        raise ValidationFailed(f"Cannot run git to read the history of {root}: {error}.") from None
    if result.returncode != 0:
        raise ValidationFailed(
            f"{root} is not a git repository; scan its files instead of its history."
        )


def _commits(root: Path) -> Iterator[tuple[str, bytes]]:
    """(full sha, patch) of every commit, streamed from one ``git log`` process."""
    command = [
        "git",
        "-C",
        str(root),
        "-c",
        "core.quotePath=false",
        "log",
        "--all",
        "-p",
        "--unified=0",
        "--no-color",
        "--no-ext-diff",
        "--no-textconv",
        "--no-renames",
        "--relative",
        "--format=%x00%H",
    ]
    with (
        tempfile.TemporaryFile() as errors,
        subprocess.Popen(  # noqa: S603 - a fixed argument vector
            command, stdout=subprocess.PIPE, stderr=errors
        ) as process,
    ):
        assert process.stdout is not None
        parts: list[bytes] = []
        while chunk := process.stdout.read(_READ_SIZE):
            mark = chunk.rfind(_COMMIT_MARK)
            if mark == -1:
                parts.append(chunk)
                continue
            parts.append(chunk[:mark])
            for record in b"".join(parts).split(_COMMIT_MARK):
                if record:
                    yield _split(record)
            parts = [chunk[mark + 1 :]]
        tail = b"".join(parts)
        if tail:
            yield _split(tail)
        if process.wait() != 0:
            errors.seek(0)
            message = errors.read(2000).decode("utf-8", "replace").strip()
            raise ValidationFailed(f"git log failed in {root}: {message}")


def _split(record: bytes) -> tuple[str, bytes]:
    sha, _, patch = record.partition(b"\n")
    return sha.decode("ascii").strip(), patch
