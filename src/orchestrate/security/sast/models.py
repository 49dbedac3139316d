"""What one SAST scan produced: findings, plus what it could not do.

A scan that silently skips a tool or a file looks exactly like a clean one; that is the
bug this type exists to prevent. Every file a tool could not read, every tool that was
not run, and every tool that failed becomes a ``SastNotice`` that reports show next to the
findings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from orchestrate.security.models import Finding


class NoticeKind(StrEnum):
    """Why a notice was raised."""

    TOOL_SKIPPED = "tool_skipped"  # the tool is not installed; nothing it checks was checked
    TOOL_FAILED = "tool_failed"  # the tool ran and failed (exit code, timeout, bad output)
    FILE_SKIPPED = "file_skipped"  # a file was not analysed (too large, unparsable, time)


@dataclass(frozen=True, slots=True)
class SastNotice:
    """One thing a scan could not do. ``path`` is relative to the scanned root when the
    notice is about one file, ``None`` when it is about the whole tool."""

    tool: str
    kind: NoticeKind
    message: str
    path: str | None = None


@dataclass(frozen=True, slots=True)
class ToolRun:
    """How one tool fared: how long it took and how many files it looked at."""

    tool: str
    seconds: float
    files_scanned: int
    findings: int
    ran: bool = True


@dataclass(frozen=True, slots=True)
class SastResult:
    """Findings sorted by path, line and rule; notices in the order they arose."""

    findings: tuple[Finding, ...]
    notices: tuple[SastNotice, ...] = ()
    tool_runs: tuple[ToolRun, ...] = field(default_factory=tuple)

    @property
    def skipped_tools(self) -> tuple[str, ...]:
        return tuple(n.tool for n in self.notices if n.kind is NoticeKind.TOOL_SKIPPED)


@dataclass(frozen=True, slots=True)
class ToolOutput:
    """What one tool's adapter hands back to ``scan_sast`` to be merged."""

    findings: tuple[Finding, ...]
    notices: tuple[SastNotice, ...]
    files_scanned: int
