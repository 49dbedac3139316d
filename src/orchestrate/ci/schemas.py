"""Request and response models of the CI test history API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from orchestrate.ci.analysis import Cause, FailureAnalysis
from orchestrate.ci.brief import render_brief
from orchestrate.ci.flaky import FlakyTest, Quarantine, QuarantineStatus, RecordedReport


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
