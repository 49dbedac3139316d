"""SAST: Bandit (through its Python API) and Semgrep (our shipped rules, offline).

``scan_sast`` is the one entry point; it returns findings plus notices for every tool
or file that was not analysed, so a skipped check is never mistaken for a clean one.
"""

from __future__ import annotations

from orchestrate.security.sast._files import DEFAULT_EXCLUDED_DIRS, DEFAULT_MAX_FILE_BYTES
from orchestrate.security.sast.models import NoticeKind, SastNotice, SastResult, ToolRun
from orchestrate.security.sast.semgrep_scan import RULES_DIR, find_semgrep
from orchestrate.security.sast.service import scan_sast

__all__ = [
    "DEFAULT_EXCLUDED_DIRS",
    "DEFAULT_MAX_FILE_BYTES",
    "RULES_DIR",
    "NoticeKind",
    "SastNotice",
    "SastResult",
    "ToolRun",
    "find_semgrep",
    "scan_sast",
]
