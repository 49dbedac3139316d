"""Scanning a unified diff: only the lines it adds, at their line numbers in the new file.

A diff is cut into its files (``diff --git`` sections); a file's added lines are joined
into one text that the detector scans like a file, and each of its lines remembers its
number in the new file. ``git log -p`` output is a sequence of such diffs, so history
scanning (``history``) reuses this.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from orchestrate.security.models import Finding
from orchestrate.security.secrets.engine import Detector
from orchestrate.security.secrets.findings import to_findings
from orchestrate.security.secrets.models import SecretsConfig
from orchestrate.security.secrets.tree import PathFilter, is_baseline

_SECTION = re.compile(rb"^diff --git ", re.MULTILINE)
_NEW_PATH = re.compile(rb"^\+\+\+ (.*?)\t?\r?$", re.MULTILINE)
_HUNK = re.compile(rb"^@@+ [^@]*\+(\d+)(?:,\d+)? @@")


@dataclass(frozen=True, slots=True)
class AddedLines:
    """One file's added lines: ``text`` joined with newlines, ``line_numbers[i]`` the
    line of its ``i``-th line in the new file."""

    path: str
    text: bytes
    line_numbers: list[int]


def scan_diff(
    diff: str, config: SecretsConfig, *, exclude_paths: Sequence[str] = ()
) -> list[Finding]:
    """Findings for secrets on the lines ``diff`` (``git diff --unified=0``) adds."""
    detector = Detector(config)
    skip = PathFilter(exclude_paths, config.allowlist_paths)
    data = diff.encode("utf-8", "surrogateescape")
    findings: list[Finding] = []
    for start, end in file_sections(data):
        findings.extend(scan_section(detector, skip, data[start:end], config.max_file_size))
    return findings


def scan_section(
    detector: Detector,
    skip: PathFilter,
    section: bytes,
    max_size: int,
    commit: str | None = None,
) -> list[Finding]:
    """Findings in the added lines of one file's section of a diff."""
    added = added_lines(section)
    if added is None or skip.skips(added.path) or len(added.text) > max_size:
        return []
    if is_baseline(added.text):
        return []
    hits = detector.detect(added.text, added.path)
    if not hits:
        return []
    return to_findings(hits, added.text, added.path, line_numbers=added.line_numbers, commit=commit)


def file_sections(diff: bytes) -> list[tuple[int, int]]:
    """(start, end) of each file's ``diff --git`` section."""
    starts = [match.start() for match in _SECTION.finditer(diff)]
    return list(zip(starts, [*starts[1:], len(diff)], strict=False))


def added_lines(section: bytes) -> AddedLines | None:
    """The added lines of one file's section; ``None`` for a deleted or binary file."""
    header = _NEW_PATH.search(section)
    if header is None:
        return None
    path = _path(header.group(1))
    if path is None:
        return None
    lines: list[bytes] = []
    numbers: list[int] = []
    number = 0
    in_hunk = False
    for line in section[header.end() :].split(b"\n"):
        first = line[:1]
        if first == b"+" and in_hunk:
            lines.append(line[1:].rstrip(b"\r"))
            numbers.append(number)
            number += 1
        elif first == b"@":
            hunk = _HUNK.match(line)
            if hunk is not None:
                number = int(hunk.group(1))
                in_hunk = True
        elif first == b" " and in_hunk:
            number += 1
    if not lines:
        return None
    return AddedLines(path, b"\n".join(lines), numbers)


def iter_added(diff: bytes) -> Iterator[AddedLines]:
    for start, end in file_sections(diff):
        added = added_lines(diff[start:end])
        if added is not None:
            yield added


def _path(raw: bytes) -> str | None:
    """The new file's path from a ``+++`` line (``b/…``, or quoted C-style)."""
    if raw == b"/dev/null":
        return None
    if raw.startswith(b'"') and raw.endswith(b'"'):
        raw = codecs.escape_decode(raw[1:-1])[0]
    if raw.startswith(b"b/"):
        raw = raw[2:]
    return raw.decode("utf-8", "surrogateescape")
