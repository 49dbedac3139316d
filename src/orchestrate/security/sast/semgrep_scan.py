"""Semgrep, as a subprocess, with only the rules shipped in this package, offline.

Semgrep is not a dependency of ours (its pins conflict with ours); ``make
security-tools`` installs it into a venv of its own (scripts/install-security-tools.sh).
It runs with metrics off, no version check, no registry configuration and no login
token in its environment, under a wall-clock timeout (its whole process group is killed
on expiry) and with its JSON output written to a file whose size is capped before it is
parsed. Paths come back absolute and are made relative to the root; the matched code is
read from the file itself (Semgrep without a login no longer returns it).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from orchestrate.security.models import Category, Finding, Location, Severity, fingerprint
from orchestrate.security.sast._files import (
    TreeFilter,
    normalise_code,
    relative_path,
    walk_files,
)
from orchestrate.security.sast.models import NoticeKind, SastNotice, ToolOutput

TOOL = "semgrep"
RULES_DIR = Path(__file__).parent / "rules"
CACHE_VENV_BIN = Path("orchestrate-security-tools") / "semgrep-venv" / "bin" / "semgrep"
# The file kinds our shipped rules cover.
SEMGREP_SUFFIXES = (".py", ".pyw", ".js", ".jsx", ".mjs", ".cjs", ".ts", ".tsx", ".go")
_MAX_OUTPUT_BYTES = 64 * 1024 * 1024
_SNIPPET_LIMIT = 2_000
_SEVERITIES = {
    "ERROR": Severity.HIGH,
    "WARNING": Severity.MEDIUM,
    "INFO": Severity.LOW,
    "CRITICAL": Severity.CRITICAL,
    "HIGH": Severity.HIGH,
    "MEDIUM": Severity.MEDIUM,
    "LOW": Severity.LOW,
}
_CWE = re.compile(r"CWE-\d{1,6}")
# The environment semgrep sees: enough to run, nothing that could log it in or phone home.
_PASSED_ENVIRONMENT = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "XDG_CACHE_HOME")


def find_semgrep(configured: str | None = None) -> Path | None:
    """The semgrep program to run: the configured one, else ``semgrep`` on PATH, else
    the one ``make security-tools`` installs under the user's cache; ``None`` when
    there is none (a configured path that does not exist is also ``None``)."""
    if configured:
        found = shutil.which(configured)
        return Path(found) if found else None
    on_path = shutil.which("semgrep")
    if on_path:
        return Path(on_path)
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    candidate = cache / CACHE_VENV_BIN
    return candidate if candidate.is_file() and os.access(candidate, os.X_OK) else None


def semgrep_command(
    semgrep: Path, root: Path, tree_filter: TreeFilter, *, max_file_bytes: int
) -> list[str]:
    """The argument vector of one scan of ``root`` with our rules only."""
    command = [
        str(semgrep),
        "scan",
        "--config",
        str(RULES_DIR),
        "--json",
        "--quiet",
        "--metrics=off",
        "--disable-version-check",
        "--no-rewrite-rule-ids",
        # The same files as Bandit: our exclusions decide, not whether git tracks them.
        "--no-git-ignore",
        "--max-target-bytes",
        str(max_file_bytes),
        "--timeout",
        "10",
        "--timeout-threshold",
        "3",
        "--jobs",
        "1",
    ]
    for pattern in (*tree_filter.excluded_dirs, *tree_filter.exclude):
        command += ["--exclude", pattern]
    command.append(str(root))
    return command


def semgrep_environment() -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if k in _PASSED_ENVIRONMENT}
    environment["SEMGREP_ENABLE_VERSION_CHECK"] = "0"
    environment["SEMGREP_SEND_METRICS"] = "off"
    environment.setdefault("HOME", tempfile.gettempdir())
    return environment


def run_semgrep(
    semgrep: Path,
    root: Path,
    tree_filter: TreeFilter,
    *,
    max_file_bytes: int,
    timeout_seconds: float,
) -> ToolOutput:
    """Semgrep's findings with our rules under ``root``; a failure is a notice."""
    command = semgrep_command(semgrep, root, tree_filter, max_file_bytes=max_file_bytes)
    oversized = _oversized_notices(root, tree_filter, max_file_bytes)
    with tempfile.TemporaryFile() as stdout, tempfile.TemporaryFile() as stderr:
        outcome = _run(command, stdout, stderr, timeout_seconds)
        if outcome is not None:
            return _failed(outcome, oversized)
        size = stdout.seek(0, os.SEEK_END)
        if size > _MAX_OUTPUT_BYTES:
            cap = _MAX_OUTPUT_BYTES
            return _failed(f"its output was {size} bytes, over the {cap} cap", oversized)
        stdout.seek(0)
        raw = stdout.read()
        stderr.seek(0)
        error_tail = stderr.read()[-2_000:].decode("utf-8", "replace").strip()
    try:
        report = json.loads(raw)
    except ValueError:
        detail = error_tail or "no message"
        return _failed(f"it did not print a JSON report ({detail})", oversized)
    if not isinstance(report, dict):
        return _failed("its JSON report is not an object", oversized)
    output = _normalise(report, root)
    return ToolOutput(output.findings, (*oversized, *output.notices), output.files_scanned)


def _oversized_notices(
    root: Path, tree_filter: TreeFilter, max_file_bytes: int
) -> tuple[SastNotice, ...]:
    """Semgrep skips files over --max-target-bytes without a word; we say so."""
    notices = []
    for path in walk_files(root, tree_filter, SEMGREP_SUFFIXES):
        size = path.stat().st_size
        if size > max_file_bytes:
            notices.append(
                SastNotice(
                    tool=TOOL,
                    kind=NoticeKind.FILE_SKIPPED,
                    message=f"not analysed: {size} bytes, over {max_file_bytes}",
                    path=relative_path(root, path),
                )
            )
    return tuple(notices)


def _run(command: list[str], stdout: Any, stderr: Any, timeout_seconds: float) -> str | None:
    """Run to completion; ``None`` on success, else what went wrong."""
    try:
        process = subprocess.Popen(  # noqa: S603 - an argument vector we built
            command,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
            env=semgrep_environment(),
            start_new_session=True,
        )
    except OSError as error:
        return f"it could not be started: {error}"
    try:
        code = process.wait(timeout=timeout_seconds)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # semgrep-core runs as its child
        process.wait()
        return f"it did not finish within {timeout_seconds:g} s and was stopped"
    # 0: no findings or findings; 1: findings with --error; 2 and up: a failure, but
    # Semgrep still prints its JSON report with the errors in it, read below.
    return None if code >= 0 else f"it was killed by signal {-code}"


def _failed(message: str, earlier: tuple[SastNotice, ...] = ()) -> ToolOutput:
    message = f"Semgrep failed: {message}"
    notice = SastNotice(tool=TOOL, kind=NoticeKind.TOOL_FAILED, message=message)
    return ToolOutput((), (*earlier, notice), 0)


def _normalise(report: Mapping[str, Any], root: Path) -> ToolOutput:
    lines_cache: dict[str, list[str]] = {}
    findings = []
    for result in _list(report.get("results")):
        finding = _to_finding(result, root, lines_cache)
        if finding is not None:
            findings.append(finding)
    notices = [_error_notice(error, root) for error in _list(report.get("errors"))]
    paths = report.get("paths")
    scanned_paths = paths.get("scanned") if isinstance(paths, dict) else None
    scanned = len(scanned_paths) if isinstance(scanned_paths, list) else 0
    return ToolOutput(tuple(findings), tuple(notices), scanned)


def _list(value: object) -> list[Mapping[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _to_finding(
    result: Mapping[str, Any], root: Path, lines_cache: dict[str, list[str]]
) -> Finding | None:
    check_id, path = result.get("check_id"), result.get("path")
    start, end = result.get("start"), result.get("end")
    extra = result.get("extra") if isinstance(result.get("extra"), dict) else {}
    if not (isinstance(check_id, str) and isinstance(path, str)):
        return None
    if not (isinstance(start, dict) and isinstance(end, dict) and isinstance(extra, dict)):
        return None
    relative = relative_path(root, Path(path))
    if relative not in lines_cache:
        lines_cache[relative] = _read_lines(root / relative)
    first = _int(start.get("line")) or 1
    last = max(first, _int(end.get("line")) or first)
    code = "\n".join(lines_cache[relative][first - 1 : last])
    rule_id = f"semgrep/{check_id}"
    metadata = extra.get("metadata") if isinstance(extra.get("metadata"), dict) else {}
    return Finding(
        rule_id=rule_id,
        category=Category.SAST,
        severity=_SEVERITIES.get(str(extra.get("severity", "")).upper(), Severity.MEDIUM),
        title=check_id,
        message=str(extra.get("message", "")).strip(),
        location=Location(
            path=relative,
            start_line=first,
            end_line=last,
            start_column=_int(start.get("col")),
            end_column=_int(end.get("col")),
        ),
        fingerprint=fingerprint(rule_id, relative, normalise_code(code)),
        tool=TOOL,
        snippet=code[:_SNIPPET_LIMIT],
        properties=_properties(metadata if isinstance(metadata, dict) else {}, extra),
    )


def _properties(metadata: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, str]:
    properties = {"semgrep_severity": str(extra.get("severity", "")).lower()}
    cwe = metadata.get("cwe")
    texts = cwe if isinstance(cwe, list) else [cwe]
    found = [
        m.group(0) for text in texts if isinstance(text, str) for m in [_CWE.search(text)] if m
    ]
    if found:
        properties["cwe"] = ",".join(found)
    for key in ("confidence", "category"):
        if isinstance(metadata.get(key), str):
            properties[key] = str(metadata[key]).lower()
    return properties


def _error_notice(error: Mapping[str, Any], root: Path) -> SastNotice:
    message = str(error.get("message", error.get("type", "unknown error"))).strip()[:500]
    path = error.get("path")
    if isinstance(path, str):
        return SastNotice(
            tool=TOOL,
            kind=NoticeKind.FILE_SKIPPED,
            message=f"not fully analysed: {message}",
            path=relative_path(root, Path(path)),
        )
    return SastNotice(tool=TOOL, kind=NoticeKind.TOOL_FAILED, message=message)


def _read_lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []


def _int(value: object) -> int | None:
    return value if isinstance(value, int) else None


def rule_files() -> Sequence[Path]:
    """The shipped rule files (one per language)."""
    return sorted(RULES_DIR.glob("*.yaml"))
