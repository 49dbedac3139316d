"""What other capabilities may use of the CI capability: the runs of CI platforms.

Pipelines (the ``ci:`` step), delivery and the others import this module only; the
providers, the history's tables and the parsers stay private to the capability.
"""

from __future__ import annotations

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
from orchestrate.ci.runs import (
    CiTarget,
    RunDetails,
    Trigger,
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
    "CiAuthenticationFailed",
    "CiJob",
    "CiNotFound",
    "CiProviderError",
    "CiRun",
    "CiTarget",
    "Conclusion",
    "ProviderName",
    "RateLimited",
    "RunDetails",
    "RunFilter",
    "RunStatus",
    "Trigger",
    "get_run",
    "list_runs",
    "rerun",
    "resolve_target",
    "run_logs",
    "show_run",
    "test_results",
    "trigger",
    "wait_for",
]
