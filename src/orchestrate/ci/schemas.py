"""Request and response models of ``/api/ci``: runs, their jobs, triggering, re-running."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from orchestrate.ci.providers import CiJob, CiRun, CiStep, Conclusion, ProviderName, RunStatus
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


class TriggerIn(BaseModel):
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
