"""Bandit, through its Python API, over the Python files of a tree.

Bandit is a library written for its own CLI: it logs through the ``bandit`` logger
(warnings for every file whose module name it cannot work out, errors for files it cannot
parse), and Python's last-resort handler prints those to the host's stderr. While a scan
runs, the ``bandit`` logger's handlers are replaced by a collector and propagation is
switched off; both are restored afterwards, and what was collected becomes notices.
Bandit's manager keeps class-level state, so scans are serialised by a lock.

Each file is handed to the manager on its own: a size cap and a time budget are checked
between files, so a hostile tree cannot hold the scan for long (a 5 MB one-line file is
skipped by size; parsing errors and recursion errors become notices).
"""

from __future__ import annotations

import contextlib
import io
import logging
import threading
import time
import tomllib
import warnings
from collections.abc import Iterator, Sequence
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

TOOL = "bandit"
_PYTHON_SUFFIXES = (".py", ".pyw")
_SEVERITIES = {"LOW": Severity.LOW, "MEDIUM": Severity.MEDIUM, "HIGH": Severity.HIGH}
_SNIPPET_LIMIT = 2_000
_LOCK = threading.Lock()


class _Collector(logging.Handler):
    """Keeps Bandit's log records instead of letting them reach the host's handlers."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if len(self.records) < 1_000:
            self.records.append(record)


@contextlib.contextmanager
def _captured_bandit_logging() -> Iterator[_Collector]:
    logger = logging.getLogger("bandit")
    saved = (list(logger.handlers), logger.propagate, logger.level)
    collector = _Collector()
    logger.handlers = [collector]
    logger.propagate = False
    logger.setLevel(logging.WARNING)
    try:
        yield collector
    finally:
        logger.handlers, logger.propagate = saved[0], saved[1]
        logger.setLevel(saved[2])


def _bandit_modules() -> tuple[Any, Any, Any]:
    """Import Bandit; its plugin loader prints to stderr when a plugin fails to load
    (its SARIF formatter needs a package we do not install: we write SARIF ourselves),
    logging it through stevedore, and stevedore warns about a deprecated argument, so
    the first import runs with all three captured."""
    loader_log = logging.getLogger("stevedore")
    level = loader_log.level
    loader_log.setLevel(logging.CRITICAL)
    try:
        with (
            contextlib.redirect_stderr(io.StringIO()),
            contextlib.redirect_stdout(io.StringIO()),
            warnings.catch_warnings(),
        ):
            warnings.simplefilter("ignore")
            from bandit.core import config, docs_utils, manager
    finally:
        loader_log.setLevel(level)
    return config, manager, docs_utils


def bandit_settings(root: Path) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The project's own Bandit settings, from ``[tool.bandit]`` of ``pyproject.toml``
    at the root: the test ids it ``skips`` and the ``exclude_dirs`` it names."""
    pyproject = root / "pyproject.toml"
    try:
        if not pyproject.is_file() or pyproject.stat().st_size > 1_000_000:
            return (), ()
        table = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("tool", {})
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return (), ()
    section = table.get("bandit", {}) if isinstance(table, dict) else {}
    if not isinstance(section, dict):
        return (), ()
    skips = tuple(s for s in section.get("skips", ()) if isinstance(s, str))
    dirs = tuple(d for d in section.get("exclude_dirs", ()) if isinstance(d, str))
    return skips, dirs


def run_bandit(
    root: Path,
    tree_filter: TreeFilter,
    *,
    max_file_bytes: int,
    time_budget_seconds: float,
    skips: Sequence[str] = (),
) -> ToolOutput:
    """Bandit's findings on every Python file under ``root`` that the filter keeps."""
    config_module, manager_module, docs_utils = _bandit_modules()
    notices: list[SastNotice] = []
    findings: list[Finding] = []
    scanned = 0
    started = time.monotonic()
    # Bandit's log records are dropped: the facts they carry become notices below.
    with _LOCK, _captured_bandit_logging():
        manager = manager_module.BanditManager(
            config_module.BanditConfig(), "file", quiet=True, profile={"exclude": set(skips)}
        )
        for path in walk_files(root, tree_filter, _PYTHON_SUFFIXES):
            relative = relative_path(root, path)
            if time.monotonic() - started > time_budget_seconds:
                notices.append(_file_notice(relative, "not analysed: Bandit's time budget ran out"))
                continue
            size = path.stat().st_size
            if size > max_file_bytes:
                notices.append(
                    _file_notice(relative, f"not analysed: {size} bytes, over {max_file_bytes}")
                )
                continue
            before = len(manager.results)
            skipped_before = len(manager.skipped)
            manager.files_list = [str(path)]
            manager.run_tests()
            for _, reason in manager.skipped[skipped_before:]:
                notices.append(_file_notice(relative, f"not analysed: {reason}"))
            if len(manager.skipped) == skipped_before:
                scanned += 1
            lines = _read_lines(path)
            for issue in manager.results[before:]:
                findings.append(_to_finding(issue, relative, lines, docs_utils))
    return ToolOutput(tuple(findings), tuple(notices), scanned)


def _file_notice(path: str, message: str) -> SastNotice:
    return SastNotice(tool=TOOL, kind=NoticeKind.FILE_SKIPPED, message=message, path=path)


def _read_lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []


def _to_finding(issue: Any, relative: str, lines: list[str], docs_utils: Any) -> Finding:
    test_id = str(issue.test_id)
    rule_id = f"bandit/{test_id}"
    line_numbers = [int(n) for n in (issue.linerange or [issue.lineno])]
    start, end = min(line_numbers), max(line_numbers)
    code = "\n".join(lines[start - 1 : end])
    severity = _SEVERITIES.get(str(issue.severity), Severity.INFO)
    properties = {
        "confidence": str(issue.confidence).lower(),
        "bandit_severity": str(issue.severity).lower(),
        "test_name": str(issue.test),
    }
    cwe_id = int(getattr(issue.cwe, "id", 0) or 0)
    if cwe_id:
        properties["cwe"] = f"CWE-{cwe_id}"
    column = int(issue.col_offset)
    end_column = int(issue.end_col_offset or 0)
    return Finding(
        rule_id=rule_id,
        category=Category.SAST,
        severity=severity,
        title=f"{test_id} {issue.test}",
        message=str(issue.text),
        location=Location(
            path=relative,
            start_line=start,
            end_line=end,
            start_column=column + 1 if column >= 0 else None,
            end_column=end_column + 1 if end_column > 0 else None,
        ),
        fingerprint=fingerprint(rule_id, relative, normalise_code(code)),
        tool=TOOL,
        snippet=code[:_SNIPPET_LIMIT],
        help_uri=_help_uri(docs_utils, test_id),
        properties=properties,
    )


def _help_uri(docs_utils: Any, test_id: str) -> str | None:
    try:
        uri = docs_utils.get_url(test_id)
    except Exception:  # a missing doc link must not lose the finding
        return None
    return str(uri) if uri else None
