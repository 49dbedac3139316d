"""Request and response models of ``/api/ci``: runs, their jobs, triggering, re-running,
cancelling;
the test history: recorded reports, flaky and quarantined tests, failure analyses."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from orchestrate.ci.analysis import Cause, FailureAnalysis
from orchestrate.ci.brief import render_brief
from orchestrate.ci.flaky import FlakyTest, Quarantine, QuarantineStatus, RecordedReport
from orchestrate.ci.providers import CiJob, CiRun, CiStep, Conclusion, ProviderName, RunStatus
from orchestrate.ci.run_analysis import RunAnalysis
from orchestrate.ci.runs import MAX_INPUTS, RunDetails

_NAME = Field(default=None, max_length=200)


class CiRunOut(BaseModel):
    """One run: a GitHub Actions workflow run, a GitLab pipeline, a CircleCI workflow."""

    id: str
    provider: ProviderName
    repository: str
    workflow: str
    branch: str | None
    head_sha: str | None
    status: RunStatus
    conclusion: Conclusion | None
    attempt: int
    url: str | None
    created_at: datetime | None
    updated_at: datetime | None

    @classmethod
    def of(cls, run: CiRun) -> CiRunOut:
        return cls(
            id=run.id,
            provider=run.provider,
            repository=run.repository,
            workflow=run.workflow,
            branch=run.branch,
            head_sha=run.head_sha,
            status=run.status,
            conclusion=run.conclusion,
            attempt=run.attempt,
            url=run.url,
            created_at=run.created_at,
            updated_at=run.updated_at,
        )


class CiStepOut(BaseModel):
    number: int
    name: str
    status: RunStatus
    conclusion: Conclusion | None

    @classmethod
    def of(cls, step: CiStep) -> CiStepOut:
        return cls(
            number=step.number, name=step.name, status=step.status, conclusion=step.conclusion
        )


class CiJobOut(BaseModel):
    id: str
    name: str
    status: RunStatus
    conclusion: Conclusion | None
    started_at: datetime | None
    finished_at: datetime | None
    url: str | None
    steps: list[CiStepOut]

    @classmethod
    def of(cls, job: CiJob) -> CiJobOut:
        return cls(
            id=job.id,
            name=job.name,
            status=job.status,
            conclusion=job.conclusion,
            started_at=job.started_at,
            finished_at=job.finished_at,
            url=job.url,
            steps=[CiStepOut.of(step) for step in job.steps],
        )


class CiRunDetailsOut(BaseModel):
    run: CiRunOut
    jobs: list[CiJobOut]

    @classmethod
    def of(cls, details: RunDetails) -> CiRunDetailsOut:
        return cls(run=CiRunOut.of(details.run), jobs=[CiJobOut.of(j) for j in details.jobs])


class _TargetIn(BaseModel):
    """Which platform and repository a request is for (the settings' when left out)."""

    model_config = ConfigDict(extra="forbid")

    provider: str | None = Field(
        default=None,
        max_length=40,
        description="github, gitlab or circleci; ORCHESTRATE_CI_PROVIDER when left out.",
    )
    repo: str | None = Field(
        default=None,
        max_length=200,
        description="owner/name (GitLab group/project, CircleCI gh/org/repo); "
        "ORCHESTRATE_CI_REPOSITORY when left out.",
    )


class TriggerIn(_TargetIn):
    workflow: str = Field(
        default="",
        max_length=200,
        description="The workflow to run: GitHub's workflow file (ci.yml) or id; CircleCI's "
        "workflow name to return (all of the pipeline's run); GitLab ignores it.",
        examples=["ci.yml"],
    )
    ref: str = Field(min_length=1, max_length=255, examples=["main"])
    inputs: dict[str, str] = Field(
        default_factory=dict,
        max_length=MAX_INPUTS,
        description="workflow_dispatch inputs, GitLab variables, CircleCI parameters.",
    )


class RerunIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    provider: str | None = Field(default=None, max_length=40)
    repo: str | None = _NAME
    failed_only: bool = Field(
        default=False, description="Re-run only the failed jobs (CircleCI: from failed)."
    )
    job: str | None = Field(
        default=None, max_length=200, description="Re-run only this job (its id or name)."
    )


class CancelIn(_TargetIn):
    """A run to stop: only which platform and repository it is on."""


# --- the test history ---------------------------------------------------------------


class RecordedReportOut(BaseModel):
    repository: str
    tree_sha: str
    attempt: int
    tests: int = Field(description="Distinct tests in the report.")
    passed: int
    failed: int = Field(description="Tests with at least one failed try.")
    skipped: int
    replaced: int = Field(
        description="Tests of the report already recorded for the same repository, tree "
        "SHA and attempt: their earlier results were replaced, not added to."
    )
    quarantined: list[str] = Field(description="Tests this report put in quarantine.")
    released: list[str] = Field(description="Tests this report released from quarantine.")

    @classmethod
    def of(cls, report: RecordedReport) -> RecordedReportOut:
        return cls(
            repository=report.repository,
            tree_sha=report.tree_sha,
            attempt=report.attempt,
            tests=report.tests,
            passed=report.passed,
            failed=report.failed,
            skipped=report.skipped,
            replaced=report.replaced,
            quarantined=list(report.quarantined),
            released=list(report.released),
        )


class QuarantineOut(BaseModel):
    repository: str
    test: str
    status: QuarantineStatus
    quarantined_at: datetime
    released_at: datetime | None
    consecutive_passes: int = Field(description="Clean passes since quarantined (or released).")
    flaky_rate: float = Field(description="The flaky rate that put it in quarantine.")
    disruption_rate: float = Field(description="The disruption rate that put it in quarantine.")
    runs: int = Field(description="Its runs in the window when it was quarantined.")

    @classmethod
    def of(cls, quarantine: Quarantine) -> QuarantineOut:
        return cls(
            repository=quarantine.repository,
            test=quarantine.identity,
            status=quarantine.status,
            quarantined_at=quarantine.quarantined_at,
            released_at=quarantine.released_at,
            consecutive_passes=quarantine.consecutive_passes,
            flaky_rate=quarantine.flaky_rate,
            disruption_rate=quarantine.disruption_rate,
            runs=quarantine.runs,
        )


class FlakyTestOut(BaseModel):
    repository: str
    test: str
    runs: int = Field(description="Reports (tree SHA, attempt) that ran the test.")
    failed_runs: int = Field(description="Runs in which any try of the test failed.")
    flaky_failures: int = Field(description="Failed runs on a tree SHA where it also passed.")
    repository_runs: int = Field(description="Reports of the repository in the window.")
    failure_rate: float
    flaky_rate: float
    disruption_rate: float
    flaky_shas: list[str] = Field(
        description="Tree SHAs where it both passed and failed, most recent first."
    )
    last_seen: datetime
    last_flaky_at: datetime
    quarantine: QuarantineStatus

    @classmethod
    def of(cls, test: FlakyTest) -> FlakyTestOut:
        tally = test.tally
        return cls(
            repository=test.repository,
            test=test.identity,
            runs=tally.runs,
            failed_runs=tally.failed_runs,
            flaky_failures=tally.flaky_failures,
            repository_runs=tally.repository_runs,
            failure_rate=round(tally.failure_rate, 4),
            flaky_rate=round(tally.flaky_rate, 4),
            disruption_rate=round(tally.disruption_rate, 4),
            flaky_shas=list(test.flaky_shas),
            last_seen=test.last_seen,
            last_flaky_at=test.last_flaky_at,
            quarantine=test.quarantine_status,
        )


class InfrastructureSignalOut(BaseModel):
    kind: str = Field(description="out of memory, no space left on device, DNS failure, …")
    line: str = Field(description="The log line that shows it (from CI: untrusted).")


class FailureGroupOut(BaseModel):
    signature: str = Field(description="The normalised error: exception type and shape.")
    exception_type: str
    cause: Cause
    tests: list[str]
    files: list[str]
    example: str = Field(description="The first test's message and output (untrusted).")
    evidence: str
    recommendation: str
    last_passing_sha: str | None = Field(description="new: the last tree SHA it passed on.")
    first_failing_sha: str | None = Field(description="new: the first tree SHA it failed on.")


class FailureAnalysisOut(BaseModel):
    """The failures of one run by error signature, each with its likely cause and next
    action, and the Markdown brief an issue-fixing agent is handed."""

    repository: str
    tree_sha: str
    failed_tests: int
    next_action: str = Field(description="fix, re-run, or no action when nothing failed.")
    infrastructure: list[InfrastructureSignalOut]
    groups: list[FailureGroupOut]
    brief: str

    @classmethod
    def of(cls, analysis: FailureAnalysis) -> FailureAnalysisOut:
        return cls.model_validate({**analysis.to_json(), "brief": render_brief(analysis)})


class JobSignalOut(InfrastructureSignalOut):
    job: str = Field(description="The failed job (holding no tests) whose log shows it.")


class RunAnalysisOut(BaseModel):
    """A CI run's failures analysed: the run, the failed jobs read, the tree SHA the
    history was read at, and the analysis (``orchestrate ci analyze``)."""

    run: CiRunOut
    failed_jobs: list[str]
    unparsed_jobs: list[str] = Field(description="Failed jobs whose logs held no tests.")
    job_signals: list[JobSignalOut]
    tree_sha: str
    tree_sha_source: str = Field(
        description="given (sha=), git (the commit's tree, from the registered repository) "
        "or commit (the commit SHA standing in)."
    )
    analysis: FailureAnalysisOut

    @classmethod
    def of(cls, found: RunAnalysis) -> RunAnalysisOut:
        return cls(
            run=CiRunOut.of(found.run),
            failed_jobs=[job.name for job in found.failed_jobs],
            unparsed_jobs=list(found.unparsed_jobs),
            job_signals=[
                JobSignalOut(job=job, kind=signal.kind, line=signal.line)
                for job, signal in found.job_signals
            ],
            tree_sha=found.tree_sha,
            tree_sha_source=found.tree_sha_source,
            analysis=FailureAnalysisOut.of(found.analysis),
        )
