"""What other capabilities may use of the CI capability: the runs of CI platforms.

Pipelines (the ``ci:`` step), delivery and the others import this module only; the
providers, the history's tables and the parsers stay private to the capability.
"""

from __future__ import annotations

from orchestrate.ci.analysis import FailureAnalysis
from orchestrate.ci.brief import render_brief
from orchestrate.ci.history import analyze_failures
from orchestrate.ci.models import ReportFormat, TestResult, TestStatus
from orchestrate.ci.parsing import ParsedReport, ReportError, parse_report
from orchestrate.ci.providers import (
    CiAuthenticationFailed,
    CiJob,
    CiNotFound,
    CiProviderError,
    CiRun,
    Conclusion,
    ProviderName,
    RateLimited,
    RunFilter,
    RunStatus,
)
from orchestrate.ci.run_analysis import MAX_LOG_CHARS, RunAnalysis, analyze_run
from orchestrate.ci.runs import (
    CiTarget,
    RunDetails,
    Trigger,
    cancel,
    get_run,
    list_runs,
    rerun,
    resolve_target,
    run_logs,
    show_run,
    test_results,
    trigger,
    wait_for,
)

__all__ = [
    "MAX_LOG_CHARS",
    "CiAuthenticationFailed",
    "CiJob",
    "CiNotFound",
    "CiProviderError",
    "CiRun",
    "CiTarget",
    "Conclusion",
    "FailureAnalysis",
    "ParsedReport",
    "ProviderName",
    "RateLimited",
    "ReportError",
    "ReportFormat",
    "RunAnalysis",
    "RunDetails",
    "RunFilter",
    "RunStatus",
    "TestResult",
    "TestStatus",
    "Trigger",
    "analyze_failures",
    "analyze_run",
    "cancel",
    "get_run",
    "list_runs",
    "parse_report",
    "render_brief",
    "rerun",
    "resolve_target",
    "run_logs",
    "show_run",
    "test_results",
    "trigger",
    "wait_for",
]
