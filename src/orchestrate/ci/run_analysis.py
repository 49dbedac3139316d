"""A CI run's failures, analysed: what ``ci analyze`` prints and what a fixer is handed.

The run's failed jobs are read from the platform: the platform's own test report where
it has one (GitLab, CircleCI), else each failed job's log parsed as a test report
(pytest, Jest, cargo, go test). The failures are explained with the test jobs' logs
only; a failed job whose log holds no tests (a build, a deploy) has its signs of the CI
environment failing reported beside the analysis, not blamed for the tests. The failures
are grouped and explained against the test history (``history.analyze_failures``).

The history is kept per git *tree* SHA. A run names its commit: when the repository is
registered and has that commit, its tree is read with git; else the commit SHA stands
in, and the analysis says so (only history recorded under that same SHA then matches).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from orchestrate.ci import history
from orchestrate.ci.analysis import FailureAnalysis, InfrastructureSignal, infrastructure_signals
from orchestrate.ci.models import ReportFormat, TestResult
from orchestrate.ci.parsing import ReportError, parse_report
from orchestrate.ci.providers import CiJob, CiRun, Conclusion, ProviderName
from orchestrate.ci.runs import CiTarget, run_logs, show_run, test_results
from orchestrate.core.errors import NotFound, OrchestrateError, ValidationFailed
from orchestrate.core.git import run_git
from orchestrate.core.settings import Settings
from orchestrate.core.uow import UnitOfWork
from orchestrate.repositories import service as repositories

MAX_LOG_CHARS = 2_000_000
"""Of the failed jobs' logs, this much (the end) is searched for infrastructure signs."""
_FAILED = frozenset({Conclusion.FAILURE, Conclusion.TIMED_OUT})
_SHA = re.compile(r"[0-9a-f]{40}")
_PLATFORM_REPORTS = frozenset({ProviderName.GITLAB, ProviderName.CIRCLECI})


@dataclass(frozen=True)
class RunAnalysis:
    """The run, the jobs read, the tree SHA used (and where it came from), the analysis."""

    run: CiRun
    failed_jobs: tuple[CiJob, ...]
    tree_sha: str
    tree_sha_source: str  # "given", "git" (the commit's tree) or "commit" (a stand-in)
    analysis: FailureAnalysis
    unparsed_jobs: tuple[str, ...]
    """Failed jobs whose logs held no test results a parser recognised."""
    job_signals: tuple[tuple[str, InfrastructureSignal], ...] = ()
    """Signs of the CI environment failing in those jobs' logs: (job, sign)."""

    def to_json(self) -> dict[str, object]:
        return {
            "run": {
                "id": self.run.id,
                "provider": self.run.provider.value,
                "repository": self.run.repository,
                "workflow": self.run.workflow,
                "head_sha": self.run.head_sha,
                "conclusion": self.run.conclusion.value if self.run.conclusion else None,
                "url": self.run.url,
            },
            "failed_jobs": [job.name for job in self.failed_jobs],
            "unparsed_jobs": list(self.unparsed_jobs),
            "job_signals": [
                {"job": job, "kind": signal.kind, "line": signal.line}
                for job, signal in self.job_signals
            ],
            "tree_sha": self.tree_sha,
            "tree_sha_source": self.tree_sha_source,
            "analysis": self.analysis.to_json(),
        }


async def analyze_run(
    uow: Callable[[], UnitOfWork],
    settings: Settings,
    target: CiTarget,
    run_id: str,
    *,
    tree_sha: str | None = None,
) -> RunAnalysis:
    """Read run ``run_id``'s failed jobs and analyse their failures (nothing recorded)."""
    details = await show_run(uow(), settings, target, run_id)
    failed = tuple(job for job in details.jobs if job.conclusion in _FAILED)
    results: list[TestResult] = []
    if target.provider in _PLATFORM_REPORTS:
        results = await test_results(uow(), settings, target, run_id)
    reported = bool(results)
    unparsed: list[str] = []
    test_logs: list[str] = []
    other_signals: list[tuple[str, InfrastructureSignal]] = []
    for job in failed:
        log = await run_logs(uow(), settings, target, run_id, job=job.id)
        found: tuple[TestResult, ...] = ()
        if not reported:
            try:
                found = parse_report(log, ReportFormat.AUTO).results
            except ReportError:
                found = ()
        if found or reported:
            results += found
            test_logs.append(log)
        else:
            unparsed.append(job.name)
            tail = log[-MAX_LOG_CHARS:]
            other_signals += [(job.name, signal) for signal in infrastructure_signals(tail)]
    sha, source = await _tree_sha(uow, settings, target, details.run, tree_sha)
    # Only the test jobs' logs speak for the tests: a deploy job's full disk is not why
    # an assertion failed. The other jobs' signs are reported beside the analysis.
    log_text = "\n".join(test_logs)[-MAX_LOG_CHARS:]
    analysis = await history.analyze_failures(
        uow(), settings, repository=target.repository, tree_sha=sha, results=results,
        log_text=log_text,
    )  # fmt: skip
    return RunAnalysis(
        details.run, failed, sha, source, analysis, tuple(unparsed), tuple(other_signals)
    )


async def _tree_sha(
    uow: Callable[[], UnitOfWork],
    settings: Settings,
    target: CiTarget,
    run: CiRun,
    given: str | None,
) -> tuple[str, str]:
    if given:
        return given.strip().lower(), "given"
    commit = (run.head_sha or "").lower()
    if not _SHA.fullmatch(commit):
        raise ValidationFailed(
            f"Run {run.id} names no commit; pass the tree SHA it tested (--sha)",
            field="sha",
        )
    try:
        repository = await repositories.get_repository(uow(), settings, target.repository)
    except NotFound:
        return commit, "commit"
    try:
        said = await run_git(
            "rev-parse", "--verify", "--quiet", f"{commit}^{{tree}}",
            cwd=repository.path, time_limit=30,
        )  # fmt: skip
    except OrchestrateError:
        return commit, "commit"
    tree = said.stdout.strip()
    if said.returncode == 0 and _SHA.fullmatch(tree):
        return tree, "git"
    return commit, "commit"
