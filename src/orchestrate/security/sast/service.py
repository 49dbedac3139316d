"""SAST of a tree: Bandit on Python, Semgrep with our shipped rules on Python,
JavaScript/TypeScript and Go; one sorted list of findings and the notices that say
what was not checked."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from orchestrate.core.errors import ValidationFailed
from orchestrate.security.models import Finding
from orchestrate.security.sast import bandit_scan, semgrep_scan
from orchestrate.security.sast._files import DEFAULT_MAX_FILE_BYTES, TreeFilter
from orchestrate.security.sast.models import (
    NoticeKind,
    SastNotice,
    SastResult,
    ToolOutput,
    ToolRun,
)

DEFAULT_BANDIT_BUDGET_SECONDS = 300.0
DEFAULT_SEMGREP_TIMEOUT_SECONDS = 600.0


def scan_sast(
    root: Path,
    *,
    semgrep_path: str | None = None,
    exclude: Sequence[str] = (),
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    bandit_budget_seconds: float = DEFAULT_BANDIT_BUDGET_SECONDS,
    semgrep_timeout_seconds: float = DEFAULT_SEMGREP_TIMEOUT_SECONDS,
) -> SastResult:
    """Run both tools over ``root`` (a directory) and merge what they report.

    ``semgrep_path`` is ``settings.security_semgrep_path``; without it Semgrep is looked
    for on PATH and in the cache venv of ``make security-tools``. A missing Semgrep is a
    ``tool_skipped`` notice and Bandit's findings still come back. Blocking (seconds to
    minutes): call it from a worker thread in async code.
    """
    if not root.is_dir():
        raise ValidationFailed(f"SAST scans a directory; {root} is not one. Pass a project root.")
    root = root.resolve()
    skips, bandit_excluded_dirs = bandit_scan.bandit_settings(root)
    tree_filter = TreeFilter(exclude=tuple(exclude))
    bandit_filter = TreeFilter(exclude=(*exclude, *bandit_excluded_dirs))

    runs: list[ToolRun] = []
    outputs: list[ToolOutput] = []

    started = time.monotonic()
    bandit = bandit_scan.run_bandit(
        root,
        bandit_filter,
        max_file_bytes=max_file_bytes,
        time_budget_seconds=bandit_budget_seconds,
        skips=skips,
    )
    outputs.append(bandit)
    runs.append(_tool_run(bandit_scan.TOOL, started, bandit))

    semgrep = semgrep_scan.find_semgrep(semgrep_path)
    if semgrep is None:
        outputs.append(_semgrep_missing(semgrep_path))
        runs.append(ToolRun(semgrep_scan.TOOL, 0.0, 0, 0, ran=False))
    else:
        started = time.monotonic()
        output = semgrep_scan.run_semgrep(
            semgrep,
            root,
            tree_filter,
            max_file_bytes=max_file_bytes,
            timeout_seconds=semgrep_timeout_seconds,
        )
        outputs.append(output)
        runs.append(_tool_run(semgrep_scan.TOOL, started, output))

    findings = sorted((f for o in outputs for f in o.findings), key=_finding_order)
    notices = tuple(n for o in outputs for n in o.notices)
    return SastResult(findings=tuple(findings), notices=notices, tool_runs=tuple(runs))


def _tool_run(tool: str, started: float, output: ToolOutput) -> ToolRun:
    seconds = round(time.monotonic() - started, 3)
    return ToolRun(tool, seconds, output.files_scanned, len(output.findings))


def _semgrep_missing(configured: str | None) -> ToolOutput:
    if configured:
        message = (
            f"Semgrep was skipped: the configured program {configured!r} "
            "(security_semgrep_path) was not found. Fix the path or unset it."
        )
    else:
        message = (
            "Semgrep was skipped: no semgrep on PATH or in the security tools cache. "
            "Run `make security-tools` (or set security_semgrep_path); only Bandit's "
            "Python checks ran."
        )
    notice = SastNotice(tool=semgrep_scan.TOOL, kind=NoticeKind.TOOL_SKIPPED, message=message)
    return ToolOutput((), (notice,), 0)


def _finding_order(finding: Finding) -> tuple[str, int, int, str, str]:
    location = finding.location
    return (
        location.path,
        location.start_line or 0,
        location.start_column or 0,
        finding.rule_id,
        finding.fingerprint,
    )
