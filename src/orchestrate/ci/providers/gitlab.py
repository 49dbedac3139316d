"""GitLab CI through python-gitlab: pipelines are runs, their jobs are jobs.

python-gitlab is synchronous; each operation runs whole in a worker thread. Retries and
rate limits are ``_retry.RetryingAdapter``'s (python-gitlab's own stay off: they would
retry POSTs and sleep as long as any ``Retry-After`` says). A retried pipeline keeps its
id; its *attempt* is one more than the most times any job of it was retried.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import anyio
import gitlab
import requests
from gitlab.exceptions import GitlabAuthenticationError, GitlabError
from gitlab.v4.objects import Project, ProjectPipeline

from orchestrate import __version__
from orchestrate.ci.models import TestResult, TestStatus
from orchestrate.ci.providers._convert import integer, items, moment, numeric_id, text
from orchestrate.ci.providers._retry import RetryingAdapter, RetryPolicy
from orchestrate.ci.providers.base import (
    CiAuthenticationFailed,
    CiJob,
    CiNotFound,
    CiProviderError,
    CiRun,
    Conclusion,
    ProviderName,
    RateLimited,
    RunFilter,
    RunPage,
    RunStatus,
    TriggerRequest,
    checked_limit,
)
from orchestrate.core.errors import OrchestrateError, ValidationFailed

T = TypeVar("T")
MAX_LOG_BYTES = 4 * 1024 * 1024
_QUEUED = {"created", "waiting_for_resource", "preparing", "pending", "scheduled"}
_RUNNING = {"running", "canceling"}
_CONCLUSIONS = {
    "success": Conclusion.SUCCESS,
    "failed": Conclusion.FAILURE,
    "canceled": Conclusion.CANCELLED,
    "skipped": Conclusion.SKIPPED,
    "manual": Conclusion.ACTION_REQUIRED,
}
_STATUS_FILTER = {
    RunStatus.QUEUED: "pending",
    RunStatus.IN_PROGRESS: "running",
}
_TEST_STATUSES = {
    "success": TestStatus.PASSED,
    "failed": TestStatus.FAILED,
    "error": TestStatus.ERROR,
    "skipped": TestStatus.SKIPPED,
}


class GitLabCi:
    def __init__(self, token: str, *, url: str, policy: RetryPolicy, timeout: float = 30.0) -> None:
        session = requests.Session()
        adapter = RetryingAdapter("GitLab", policy)
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        self._session = session
        self._api = gitlab.Gitlab(
            url,
            private_token=token,
            timeout=timeout,
            per_page=100,
            user_agent=f"orchestrate/{__version__}",
            retry_transient_errors=False,
            session=session,
        )

    @property
    def name(self) -> ProviderName:
        return ProviderName.GITLAB

    async def aclose(self) -> None:
        self._session.close()

    async def list_runs(
        self, repository: str, filters: RunFilter, *, page: str | None, limit: int
    ) -> RunPage:
        number = int(page) if page and page.isdigit() else 1
        per_page = checked_limit(limit)
        options: dict[str, Any] = {"page": number, "per_page": per_page, "get_all": False}
        if filters.branch:
            options["ref"] = filters.branch
        if filters.status is RunStatus.COMPLETED:
            pass  # GitLab filters one status at a time; completed ones are filtered below
        elif filters.status is not None:
            options["status"] = _STATUS_FILTER[filters.status]

        def work() -> RunPage:
            project = self._project(repository)
            pipelines = project.pipelines.list(**options)
            runs = [_run(repository, p.attributes) for p in pipelines]
            if filters.status is RunStatus.COMPLETED:
                runs = [run for run in runs if run.is_completed]
            more = len(pipelines) == per_page
            return RunPage(runs, str(number + 1) if more else None)

        return await self._in_thread(f"listing the pipelines of {repository}", work)

    async def get_run(self, repository: str, run_id: str, *, attempt: int | None = None) -> CiRun:
        pipeline_id = numeric_id(run_id, "pipeline")

        def work() -> CiRun:
            pipeline = self._pipeline(repository, pipeline_id)
            jobs = pipeline.jobs.list(get_all=True, include_retried=True)
            retries = Counter(text(job.attributes.get("name")) for job in jobs)
            run = _run(repository, pipeline.attributes)
            tries = max(retries.values(), default=1)
            return _with_attempt(run, tries)

        return await self._in_thread(f"reading pipeline {run_id} of {repository}", work)

    async def list_jobs(
        self, repository: str, run_id: str, *, attempt: int | None = None
    ) -> list[CiJob]:
        pipeline_id = numeric_id(run_id, "pipeline")

        def work() -> list[CiJob]:
            pipeline = self._pipeline(repository, pipeline_id)
            return [_job(job.attributes) for job in pipeline.jobs.list(get_all=True)]

        return await self._in_thread(f"listing the jobs of pipeline {run_id}", work)

    async def job_log(self, repository: str, job_id: str) -> str:
        number = numeric_id(job_id, "job")

        def work() -> str:
            job = self._project(repository).jobs.get(number, lazy=True)
            trace = job.trace()
            raw = trace if isinstance(trace, bytes) else b""
            return raw[-MAX_LOG_BYTES:].decode("utf-8", errors="replace")

        return await self._in_thread(f"reading the trace of job {job_id} of {repository}", work)

    async def trigger(self, repository: str, request: TriggerRequest) -> CiRun:
        variables = [{"key": key, "value": value} for key, value in request.inputs.items()]

        def work() -> CiRun:
            project = self._project(repository)
            created = project.pipelines.create({"ref": request.ref, "variables": variables})
            return _run(repository, created.attributes)

        return await self._in_thread(f"creating a pipeline on {request.ref} of {repository}", work)

    async def rerun(self, repository: str, run_id: str, *, failed_only: bool) -> CiRun:
        pipeline_id = numeric_id(run_id, "pipeline")

        def work() -> None:
            pipeline = self._pipeline(repository, pipeline_id)
            if failed_only:
                pipeline.retry()
                return
            project = self._project(repository)
            for job in pipeline.jobs.list(get_all=True):
                if text(job.attributes.get("status")) in _CONCLUSIONS:
                    project.jobs.get(integer(job.attributes.get("id")), lazy=True).retry()

        await self._in_thread(f"retrying pipeline {run_id} of {repository}", work)
        return await self.get_run(repository, run_id)

    async def rerun_job(self, repository: str, job_id: str) -> CiRun:
        number = numeric_id(job_id, "job")

        def work() -> str:
            job = self._project(repository).jobs.get(number)
            job.retry()
            pipeline = job.attributes.get("pipeline")
            return text(pipeline.get("id") if isinstance(pipeline, dict) else None) or ""

        pipeline_id = await self._in_thread(f"retrying job {job_id} of {repository}", work)
        return await self.get_run(repository, pipeline_id)

    async def cancel(self, repository: str, run_id: str) -> CiRun:
        """``POST …/pipelines/{id}/cancel``: GitLab answers 200 whatever the pipeline's
        state, so one that has finished comes back as it ended. Manual jobs are not
        cancelled (GitLab leaves them to be played)."""
        pipeline_id = numeric_id(run_id, "pipeline")

        def work() -> None:
            self._project(repository).pipelines.get(pipeline_id, lazy=True).cancel()

        await self._in_thread(f"cancelling pipeline {run_id} of {repository}", work)
        return await self.get_run(repository, run_id)

    async def test_results(self, repository: str, run_id: str) -> list[TestResult]:
        pipeline_id = numeric_id(run_id, "pipeline")

        def work() -> list[TestResult]:
            pipeline = self._pipeline(repository, pipeline_id)
            report = pipeline.test_report.get()
            return _test_results(report.attributes)

        return await self._in_thread(f"reading the test report of pipeline {run_id}", work)

    def _project(self, repository: str) -> Project:
        if not repository or len(repository) > 255 or repository.startswith("/"):
            raise ValidationFailed(
                f"A GitLab project is named group/name, not {repository[:200]!r}",
                field="repository",
            )
        return self._api.projects.get(repository, lazy=True)

    def _pipeline(self, repository: str, pipeline_id: int) -> ProjectPipeline:
        return self._project(repository).pipelines.get(pipeline_id)

    async def _in_thread(self, what: str, work: Callable[[], T]) -> T:
        def guarded() -> T:
            try:
                return work()
            except OrchestrateError:
                raise
            except Exception as error:
                raise _translated(what, error) from None

        return await anyio.to_thread.run_sync(guarded)


def _translated(what: str, error: Exception) -> OrchestrateError:
    if isinstance(error, RateLimited):
        return error
    if isinstance(error, GitlabAuthenticationError):
        return CiAuthenticationFailed(
            f"GitLab refused the token for {what}: check the stored secret named by "
            "ORCHESTRATE_CI_GITLAB_TOKEN_SECRET (scope api)",
            provider="gitlab",
            status=401,
        )
    if isinstance(error, GitlabError):
        status = error.response_code
        reason = str(error.error_message)[:300]
        context: Mapping[str, Any] = {"provider": "gitlab", "status": status, "reason": reason}
        if status == 404:
            return CiNotFound(f"GitLab has none: {what} (or the token may not see it)", **context)
        if status == 403:
            return CiAuthenticationFailed(f"GitLab forbade {what}: {reason}", **context)
        if status in (400, 422):
            return ValidationFailed(f"GitLab refused {what}: {reason}", **context)
        return CiProviderError(f"GitLab answered {status} to {what}: {reason}", **context)
    if isinstance(error, requests.RequestException | OSError):
        return CiProviderError(
            f"GitLab could not be reached for {what}: {type(error).__name__}", provider="gitlab"
        )
    return CiProviderError(f"GitLab failed for {what}: {error}", provider="gitlab")


def _status(value: Any) -> tuple[RunStatus, Conclusion | None]:
    name = text(value) or ""
    if name in _QUEUED:
        return RunStatus.QUEUED, None
    if name in _RUNNING:
        return RunStatus.IN_PROGRESS, None
    if name == "manual":
        return RunStatus.QUEUED, Conclusion.ACTION_REQUIRED
    return RunStatus.COMPLETED, _CONCLUSIONS.get(name, Conclusion.NEUTRAL)


def _run(repository: str, item: Mapping[str, Any]) -> CiRun:
    status, conclusion = _status(item.get("status"))
    return CiRun(
        id=text(item.get("id")) or "",
        provider=ProviderName.GITLAB,
        repository=repository,
        workflow=text(item.get("name")) or text(item.get("source")) or "pipeline",
        branch=text(item.get("ref")),
        head_sha=text(item.get("sha")),
        status=status,
        conclusion=conclusion,
        attempt=1,
        url=text(item.get("web_url")),
        created_at=moment(item.get("created_at")),
        updated_at=moment(item.get("updated_at")),
    )


def _with_attempt(run: CiRun, attempt: int) -> CiRun:
    from dataclasses import replace

    return replace(run, attempt=max(1, attempt))


def _job(item: Mapping[str, Any]) -> CiJob:
    status, conclusion = _status(item.get("status"))
    return CiJob(
        id=text(item.get("id")) or "",
        name=text(item.get("name")) or "",
        status=status,
        conclusion=conclusion,
        started_at=moment(item.get("started_at")),
        finished_at=moment(item.get("finished_at")),
        url=text(item.get("web_url")),
    )


def _test_results(report: Mapping[str, Any]) -> list[TestResult]:
    results: list[TestResult] = []
    for suite in items(report.get("test_suites")):
        suite_name = text(suite.get("name")) or ""
        for case in items(suite.get("test_cases")):
            status = _TEST_STATUSES.get(text(case.get("status")) or "", TestStatus.ERROR)
            duration = case.get("execution_time")
            results.append(
                TestResult(
                    suite=suite_name,
                    classname=text(case.get("classname")) or "",
                    name=text(case.get("name")) or "",
                    status=status,
                    duration=float(duration) if isinstance(duration, int | float) else None,
                    message=(text(case.get("stack_trace")) or "")[:2000],
                    output=(text(case.get("system_output")) or "")[-4000:],
                    file=text(case.get("file")),
                )
            )
    return results
