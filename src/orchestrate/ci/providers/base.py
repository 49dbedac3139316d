"""What every CI platform looks like to Orchestrate: runs, jobs, logs, and the protocol.

A *run* is one execution of a workflow: a GitHub Actions workflow run, a GitLab
pipeline, a CircleCI workflow (of a pipeline). A *job* is one unit of it (an Actions
job, a GitLab job, a CircleCI job). Platforms name their states differently; each
provider maps them onto ``RunStatus`` (where the run is) and ``Conclusion`` (how it
ended, once completed), so a poller can wait on any of them the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from orchestrate.ci.models import TestResult
from orchestrate.core.errors import IntegrationError, NotFound, ValidationFailed


class ProviderName(StrEnum):
    GITHUB = "github"
    GITLAB = "gitlab"
    CIRCLECI = "circleci"


class RunStatus(StrEnum):
    QUEUED = "queued"  # waiting to start (queued, pending, created, waiting, on hold)
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"


class Conclusion(StrEnum):
    SUCCESS = "success"
    FAILURE = "failure"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"
    TIMED_OUT = "timed_out"
    ACTION_REQUIRED = "action_required"  # a manual approval or job is waiting
    NEUTRAL = "neutral"


@dataclass(frozen=True, slots=True)
class CiStep:
    number: int
    name: str
    status: RunStatus
    conclusion: Conclusion | None = None


@dataclass(frozen=True, slots=True)
class CiJob:
    """One job of a run. ``id`` is what ``job_log`` takes (CircleCI: the job number)."""

    id: str
    name: str
    status: RunStatus
    conclusion: Conclusion | None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    url: str | None = None
    steps: tuple[CiStep, ...] = ()


@dataclass(frozen=True, slots=True)
class CiRun:
    """One run of a workflow (GitLab: a pipeline; CircleCI: a workflow of a pipeline)."""

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

    @property
    def is_completed(self) -> bool:
        return self.status is RunStatus.COMPLETED


@dataclass(frozen=True, slots=True)
class RunPage:
    """One page of runs, newest first; ``next_page`` is the provider's token for the next."""

    runs: list[CiRun]
    next_page: str | None


@dataclass(frozen=True, slots=True)
class RunFilter:
    branch: str | None = None
    status: RunStatus | None = None
    workflow: str | None = None


@dataclass(frozen=True, slots=True)
class TriggerRequest:
    """Start ``workflow`` on ``ref`` with ``inputs`` (GitHub workflow_dispatch inputs,
    GitLab pipeline variables, CircleCI pipeline parameters). GitLab and CircleCI run
    every workflow a pipeline has: for them ``workflow`` may be empty."""

    workflow: str
    ref: str
    inputs: Mapping[str, str] = field(default_factory=dict)


class CiProvider(Protocol):
    """A CI platform, reached with one token; safe to share between tasks of one loop."""

    @property
    def name(self) -> ProviderName: ...

    async def list_runs(
        self, repository: str, filters: RunFilter, *, page: str | None, limit: int
    ) -> RunPage: ...

    async def get_run(
        self, repository: str, run_id: str, *, attempt: int | None = None
    ) -> CiRun: ...

    async def list_jobs(
        self, repository: str, run_id: str, *, attempt: int | None = None
    ) -> list[CiJob]: ...

    async def job_log(self, repository: str, job_id: str) -> str: ...

    async def trigger(self, repository: str, request: TriggerRequest) -> CiRun: ...

    async def rerun(self, repository: str, run_id: str, *, failed_only: bool) -> CiRun: ...

    async def rerun_job(self, repository: str, job_id: str) -> CiRun:
        """Run one job again (a finished one); the run it belongs to as it now stands."""
        ...

    async def cancel(self, repository: str, run_id: str) -> CiRun:
        """Stop the run's unfinished jobs; the run as it then stands (platforms cancel
        asynchronously: it may still read ``in_progress`` for a while). A run that had
        already finished is no error: it is returned as it ended."""
        ...

    async def test_results(self, repository: str, run_id: str) -> list[TestResult]: ...

    async def aclose(self) -> None: ...


# -- errors ---------------------------------------------------------------------------------


class CiNotFound(NotFound):
    """The platform has no such repository, run or job (or the token may not see it)."""


class MissingCiToken(ValidationFailed):
    """No token is stored for the provider asked for: a request this Orchestrate cannot
    serve until someone stores one (a 422 naming the secret, as a missing model key is)."""


class CiProviderError(IntegrationError):
    """The platform failed or refused: its status and its own words are in the context."""


class CiAuthenticationFailed(CiProviderError):
    """The platform refused the stored token (401, or 403 that is not a rate limit)."""


class RateLimited(CiProviderError):
    """The platform's rate limit asks for a longer wait than allowed, or kept refusing."""

    def __init__(self, message: str, *, retry_after: float | None, **context: object) -> None:
        super().__init__(message, retry_after=retry_after, **context)
        self.retry_after = retry_after


def checked_limit(limit: int) -> int:
    return max(1, min(limit, 100))


def names(values: Sequence[StrEnum]) -> str:
    return ", ".join(value.value for value in values)
