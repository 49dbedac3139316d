"""GitHub Actions through githubkit's REST client.

Runs are workflow runs, jobs their jobs; ``run_attempt`` counts re-runs. A job's log is
answered with a 302 to a signed URL on another host: githubkit's httpx client follows
it and, the origin being another, sends no ``Authorization`` there. ``workflow_dispatch``
answers 204 without the run it created; ``trigger`` finds it by polling the workflow's
runs on the ref for one created since the dispatch (``dispatch_timeout`` bounds it).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from githubkit import GitHub, Response, TokenAuthStrategy
from githubkit.exception import RequestError, RequestFailed

from orchestrate import __version__
from orchestrate.ci.models import TestResult
from orchestrate.ci.providers._convert import integer, items, mapping, moment, numeric_id, text
from orchestrate.ci.providers._retry import RetryingTransport, RetryPolicy
from orchestrate.ci.providers.base import (
    CiAuthenticationFailed,
    CiJob,
    CiNotFound,
    CiProviderError,
    CiRun,
    CiStep,
    Conclusion,
    ProviderName,
    RateLimited,
    RunFilter,
    RunPage,
    RunStatus,
    TriggerRequest,
    checked_limit,
)
from orchestrate.core.errors import ValidationFailed

MAX_LOG_CHARS = 4 * 1024 * 1024
_CLOCK_SKEW = timedelta(seconds=30)
"""How far GitHub's clock may be behind ours when a dispatched run is looked for."""
_STATUSES = {
    "queued": RunStatus.QUEUED,
    "waiting": RunStatus.QUEUED,
    "requested": RunStatus.QUEUED,
    "pending": RunStatus.QUEUED,
    "in_progress": RunStatus.IN_PROGRESS,
    "completed": RunStatus.COMPLETED,
}
_CONCLUSIONS = {
    "success": Conclusion.SUCCESS,
    "failure": Conclusion.FAILURE,
    "cancelled": Conclusion.CANCELLED,
    "skipped": Conclusion.SKIPPED,
    "timed_out": Conclusion.TIMED_OUT,
    "action_required": Conclusion.ACTION_REQUIRED,
    "neutral": Conclusion.NEUTRAL,
    "stale": Conclusion.CANCELLED,
    "startup_failure": Conclusion.FAILURE,
}
_STATUS_FILTER = {
    RunStatus.QUEUED: "queued",
    RunStatus.IN_PROGRESS: "in_progress",
    RunStatus.COMPLETED: "completed",
}


class GitHubActions:
    def __init__(
        self,
        token: str,
        *,
        api_url: str,
        policy: RetryPolicy,
        timeout: float = 30.0,
        dispatch_timeout: float = 30.0,
        dispatch_poll: float = 1.0,
    ) -> None:
        self._transport = RetryingTransport("GitHub", policy)
        self._github: GitHub[Any] = GitHub(
            TokenAuthStrategy(token),
            base_url=api_url,
            user_agent=f"orchestrate/{__version__}",
            timeout=timeout,
            async_transport=self._transport,
            http_cache=False,
            auto_retry=False,
        )
        self._dispatch_timeout = dispatch_timeout
        self._dispatch_poll = dispatch_poll

    @property
    def name(self) -> ProviderName:
        return ProviderName.GITHUB

    async def aclose(self) -> None:
        await self._transport.close()

    async def list_runs(
        self, repository: str, filters: RunFilter, *, page: str | None, limit: int
    ) -> RunPage:
        owner, repo = split(repository)
        number = int(page) if page and page.isdigit() else 1
        options: dict[str, Any] = {"per_page": checked_limit(limit), "page": number}
        if filters.branch:
            options["branch"] = filters.branch
        if filters.status is not None:
            options["status"] = _STATUS_FILTER[filters.status]
        actions = self._github.rest.actions
        if filters.workflow:
            workflow = filters.workflow
            response = await self._call(
                f"listing the runs of workflow {workflow} in {repository}",
                lambda: actions.async_list_workflow_runs(owner, repo, workflow, **options),
            )
        else:
            response = await self._call(
                f"listing the workflow runs of {repository}",
                lambda: actions.async_list_workflow_runs_for_repo(owner, repo, **options),
            )
        body = mapping(response.json())
        runs = [_run(repository, item) for item in items(body.get("workflow_runs"))]
        total = integer(body.get("total_count"))
        more = number * options["per_page"] < total and len(runs) == options["per_page"]
        return RunPage(runs, str(number + 1) if more else None)

    async def get_run(self, repository: str, run_id: str, *, attempt: int | None = None) -> CiRun:
        owner, repo = split(repository)
        number = numeric_id(run_id, "workflow run")
        actions = self._github.rest.actions
        if attempt is None:
            response = await self._call(
                f"reading workflow run {run_id} of {repository}",
                lambda: actions.async_get_workflow_run(owner, repo, number),
            )
        else:
            response = await self._call(
                f"reading attempt {attempt} of workflow run {run_id} of {repository}",
                lambda: actions.async_get_workflow_run_attempt(owner, repo, number, attempt),
            )
        return _run(repository, mapping(response.json()))

    async def list_jobs(
        self, repository: str, run_id: str, *, attempt: int | None = None
    ) -> list[CiJob]:
        owner, repo = split(repository)
        number = numeric_id(run_id, "workflow run")
        actions = self._github.rest.actions
        jobs: list[CiJob] = []
        for page in range(1, 11):
            if attempt is None:
                response = await self._call(
                    f"listing the jobs of workflow run {run_id} of {repository}",
                    lambda page=page: actions.async_list_jobs_for_workflow_run(  # type: ignore[misc]
                        owner, repo, number, filter_="latest", per_page=100, page=page
                    ),
                )
            else:
                response = await self._call(
                    f"listing the jobs of attempt {attempt} of run {run_id} of {repository}",
                    lambda page=page: actions.async_list_jobs_for_workflow_run_attempt(  # type: ignore[misc]
                        owner, repo, number, attempt, per_page=100, page=page
                    ),
                )
            batch = items(mapping(response.json()).get("jobs"))
            jobs.extend(_job(item) for item in batch)
            if len(batch) < 100:
                break
        return jobs

    async def job_log(self, repository: str, job_id: str) -> str:
        owner, repo = split(repository)
        number = numeric_id(job_id, "job")
        actions = self._github.rest.actions
        response = await self._call(
            f"reading the log of job {job_id} of {repository}",
            lambda: actions.async_download_job_logs_for_workflow_run(owner, repo, number),
        )
        return response.text[-MAX_LOG_CHARS:]

    async def trigger(self, repository: str, request: TriggerRequest) -> CiRun:
        owner, repo = split(repository)
        if not request.workflow:
            raise ValidationFailed(
                "GitHub Actions needs the workflow to dispatch: its file name (ci.yml) or id",
                field="workflow",
            )
        since = datetime.now(UTC) - _CLOCK_SKEW
        known = {run.id for run in await self._runs_on(repository, request)}
        actions = self._github.rest.actions
        response = await self._call(
            f"dispatching workflow {request.workflow} on {request.ref} of {repository}",
            lambda: actions.async_create_workflow_dispatch(
                owner, repo, request.workflow, ref=request.ref, inputs=dict(request.inputs)
            ),
        )
        if response.status_code == 200:  # asked-for run details (newer GitHub)
            run_id = text(mapping(response.json()).get("workflow_run_id"))
            if run_id:
                return await self.get_run(repository, run_id)
        return await self._find_dispatched(repository, request, known, since)

    async def _runs_on(self, repository: str, request: TriggerRequest) -> list[CiRun]:
        filters = RunFilter(branch=_branch_of(request.ref), workflow=request.workflow)
        return (await self.list_runs(repository, filters, page=None, limit=20)).runs

    async def _find_dispatched(
        self, repository: str, request: TriggerRequest, known: set[str], since: datetime
    ) -> CiRun:
        deadline = time.monotonic() + self._dispatch_timeout
        while True:
            for run in await self._runs_on(repository, request):
                created = run.created_at
                if run.id not in known and (created is None or created >= since):
                    return run
            if time.monotonic() >= deadline:
                raise CiProviderError(
                    f"GitHub accepted the dispatch of {request.workflow} on {request.ref} "
                    f"of {repository}, but no new run appeared within "
                    f"{self._dispatch_timeout:.0f} s; see `orchestrate ci runs`",
                    provider="github",
                    repository=repository,
                )
            await asyncio.sleep(self._dispatch_poll)

    async def rerun(self, repository: str, run_id: str, *, failed_only: bool) -> CiRun:
        owner, repo = split(repository)
        number = numeric_id(run_id, "workflow run")
        actions = self._github.rest.actions
        if failed_only:
            await self._call(
                f"re-running the failed jobs of run {run_id} of {repository}",
                lambda: actions.async_re_run_workflow_failed_jobs(owner, repo, number),
            )
        else:
            await self._call(
                f"re-running run {run_id} of {repository}",
                lambda: actions.async_re_run_workflow(owner, repo, number),
            )
        return await self.get_run(repository, run_id)

    async def rerun_job(self, repository: str, job_id: str) -> CiRun:
        owner, repo = split(repository)
        number = numeric_id(job_id, "job")
        actions = self._github.rest.actions
        job = await self._call(
            f"reading job {job_id} of {repository}",
            lambda: actions.async_get_job_for_workflow_run(owner, repo, number),
        )
        run_id = text(mapping(job.json()).get("run_id")) or ""
        await self._call(
            f"re-running job {job_id} of {repository}",
            lambda: actions.async_re_run_job_for_workflow_run(owner, repo, number),
        )
        return await self.get_run(repository, run_id)

    async def cancel(self, repository: str, run_id: str) -> CiRun:
        """``POST …/runs/{id}/cancel`` (202). A 409 means the run already completed:
        nothing to stop. Not ``force-cancel``: it also stops the jobs an ``if: always()``
        keeps for clean-up, and GitHub reserves it for runs that ignore a cancel."""
        owner, repo = split(repository)
        number = numeric_id(run_id, "workflow run")
        actions = self._github.rest.actions
        with _translated(f"cancelling workflow run {run_id} of {repository}"):
            try:
                await actions.async_cancel_workflow_run(owner, repo, number)
            except RequestFailed as error:
                if error.response.status_code != 409:
                    raise
        return await self.get_run(repository, run_id)

    async def test_results(self, repository: str, run_id: str) -> list[TestResult]:
        raise ValidationFailed(
            "GitHub Actions has no test report API: read the job logs (`orchestrate ci "
            "logs`) and parse them (`orchestrate ci parse`)",
            provider="github",
        )

    async def _call(
        self, what: str, fetch: Callable[[], Awaitable[Response[Any, Any]]]
    ) -> Response[Any, Any]:
        with _translated(what):
            return await fetch()


@contextmanager
def _translated(what: str) -> Iterator[None]:
    try:
        yield
    except RequestFailed as error:
        status = error.response.status_code
        reason = _reason(error)
        context: Mapping[str, Any] = {"provider": "github", "status": status, "reason": reason}
        if status == 404:
            raise CiNotFound(f"Not found on GitHub: {what} ({reason})", **context) from None
        if status in (401, 403):
            raise CiAuthenticationFailed(
                f"GitHub refused {what} ({reason}): check the token in the stored secret "
                "named by ORCHESTRATE_CI_GITHUB_TOKEN_SECRET (scopes: repo, workflow)",
                **context,
            ) from None
        if status == 422:
            raise ValidationFailed(f"GitHub refused {what}: {reason}", **context) from None
        raise CiProviderError(f"GitHub answered {status} to {what}: {reason}", **context) from None
    except RequestError as error:
        if isinstance(error.exc, RateLimited):  # raised by our transport, wrapped by githubkit
            raise error.exc from None
        raise CiProviderError(
            f"Could not reach GitHub for {what}: {type(error.exc).__name__}", provider="github"
        ) from None


def _reason(error: RequestFailed) -> str:
    try:
        body = mapping(error.response.json())
    except ValueError:
        return error.response.text[:300]
    return (text(body.get("message")) or "")[:300]


def split(repository: str) -> tuple[str, str]:
    owner, _, name = repository.partition("/")
    if not owner or not name or "/" in name or len(repository) > 200:
        raise ValidationFailed(
            f"A GitHub repository is named owner/name, not {repository[:200]!r}",
            field="repository",
        )
    return owner, name


def _branch_of(ref: str) -> str:
    return ref.removeprefix("refs/heads/")


def _status(value: Any) -> RunStatus:
    return _STATUSES.get(text(value) or "", RunStatus.QUEUED)


def _conclusion(value: Any) -> Conclusion | None:
    return _CONCLUSIONS.get(text(value) or "")


def _run(repository: str, item: Mapping[str, Any]) -> CiRun:
    status = _status(item.get("status"))
    return CiRun(
        id=text(item.get("id")) or "",
        provider=ProviderName.GITHUB,
        repository=repository,
        workflow=text(item.get("name")) or text(item.get("path")) or "",
        branch=text(item.get("head_branch")),
        head_sha=text(item.get("head_sha")),
        status=status,
        conclusion=_conclusion(item.get("conclusion")) if status is RunStatus.COMPLETED else None,
        attempt=integer(item.get("run_attempt"), 1),
        url=text(item.get("html_url")),
        created_at=moment(item.get("created_at")),
        updated_at=moment(item.get("updated_at")),
    )


def _job(item: Mapping[str, Any]) -> CiJob:
    status = _status(item.get("status"))
    steps = tuple(
        CiStep(
            number=integer(step.get("number")),
            name=text(step.get("name")) or "",
            status=_status(step.get("status")),
            conclusion=_conclusion(step.get("conclusion")),
        )
        for step in items(item.get("steps"))
    )
    return CiJob(
        id=text(item.get("id")) or "",
        name=text(item.get("name")) or "",
        status=status,
        conclusion=_conclusion(item.get("conclusion")) if status is RunStatus.COMPLETED else None,
        started_at=moment(item.get("started_at")),
        finished_at=moment(item.get("completed_at")),
        url=text(item.get("html_url")),
        steps=steps,
    )
