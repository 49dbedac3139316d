"""CircleCI through its API v2 with httpx (and v1.1 for step logs).

A run is a *workflow* of a pipeline (its id a UUID): pipelines are listed per project,
their workflows per pipeline, jobs per workflow. Jobs are named by their number, which
the test metadata (``/project/{slug}/{number}/tests``) and the v1.1 job endpoint take;
a step's log is behind ``output_url`` (a signed URL on another host, fetched without
the token), a JSON array of messages. Triggering starts a pipeline on a branch with
parameters and waits for its workflows to appear; a rerun (``from_failed``) is a new
workflow of the same pipeline, so its attempt is one more than the same-named
workflows before it. Cancelling a run cancels that workflow (CircleCI has no
pipeline-level cancel; the pipeline's other workflows are other runs). Every API
request carries ``Circle-Token``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any

import httpx

from orchestrate import __version__
from orchestrate.ci.models import TestResult, TestStatus
from orchestrate.ci.providers._convert import integer, items, mapping, moment, text
from orchestrate.ci.providers._retry import RetryingTransport, RetryPolicy
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
from orchestrate.core.errors import ValidationFailed

MAX_LOG_CHARS = 4 * 1024 * 1024
_VCS = {"gh": "github", "github": "github", "bb": "bitbucket", "bitbucket": "bitbucket"}
_STATES: dict[str, tuple[RunStatus, Conclusion | None]] = {
    "queued": (RunStatus.QUEUED, None),
    "not_running": (RunStatus.QUEUED, None),
    "blocked": (RunStatus.QUEUED, None),
    "on_hold": (RunStatus.QUEUED, Conclusion.ACTION_REQUIRED),
    "running": (RunStatus.IN_PROGRESS, None),
    "failing": (RunStatus.IN_PROGRESS, None),
    "success": (RunStatus.COMPLETED, Conclusion.SUCCESS),
    "fixed": (RunStatus.COMPLETED, Conclusion.SUCCESS),
    "failed": (RunStatus.COMPLETED, Conclusion.FAILURE),
    "error": (RunStatus.COMPLETED, Conclusion.FAILURE),
    "infrastructure_fail": (RunStatus.COMPLETED, Conclusion.FAILURE),
    "terminated-unknown": (RunStatus.COMPLETED, Conclusion.FAILURE),
    "unauthorized": (RunStatus.COMPLETED, Conclusion.FAILURE),
    "timedout": (RunStatus.COMPLETED, Conclusion.TIMED_OUT),
    "canceled": (RunStatus.COMPLETED, Conclusion.CANCELLED),
    "not_run": (RunStatus.COMPLETED, Conclusion.SKIPPED),
    "retried": (RunStatus.COMPLETED, Conclusion.NEUTRAL),
}
_TEST_RESULTS = {
    "success": TestStatus.PASSED,
    "failure": TestStatus.FAILED,
    "error": TestStatus.ERROR,
    "skipped": TestStatus.SKIPPED,
}


class CircleCi:
    def __init__(
        self,
        token: str,
        *,
        url: str,
        policy: RetryPolicy,
        timeout: float = 30.0,
        app_url: str = "https://app.circleci.com",
        trigger_timeout: float = 30.0,
        trigger_poll: float = 1.0,
    ) -> None:
        self._token = token
        self._url = url.rstrip("/")
        self._app_url = app_url.rstrip("/")
        self._transport = RetryingTransport("CircleCI", policy)
        self._http = httpx.AsyncClient(
            transport=self._transport,
            timeout=timeout,
            headers={"user-agent": f"orchestrate/{__version__}", "accept": "application/json"},
        )
        self._trigger_timeout = trigger_timeout
        self._trigger_poll = trigger_poll

    @property
    def name(self) -> ProviderName:
        return ProviderName.CIRCLECI

    async def aclose(self) -> None:
        await self._http.aclose()
        await self._transport.close()

    # -- runs -----------------------------------------------------------------------------

    async def list_runs(
        self, repository: str, filters: RunFilter, *, page: str | None, limit: int
    ) -> RunPage:
        """The workflows of ``limit`` pipelines at a time. ``page`` is CircleCI's page
        token and how many pipelines of that page were already shown (``token|offset``)."""
        slug = project_slug(repository)
        token, _, skipped = (page or "").rpartition("|")
        offset = int(skipped) if skipped.isdigit() else 0
        params: dict[str, str] = {}
        if filters.branch:
            params["branch"] = filters.branch
        if token:
            params["page-token"] = token
        body = await self._get(f"/api/v2/project/{slug}/pipeline", f"pipelines of {slug}", params)
        pipelines = items(body.get("items"))
        end = offset + checked_limit(limit)
        runs: list[CiRun] = []
        for pipeline in pipelines[offset:end]:
            workflows = await self._workflows_of(text(pipeline.get("id")) or "")
            for position, workflow in enumerate(workflows):
                run = self._run(slug, workflow, pipeline, _attempt(workflows, position))
                if _matches(run, filters):
                    runs.append(run)
        next_token = text(body.get("next_page_token"))
        if end < len(pipelines):
            return RunPage(runs, f"{token}|{end}")
        return RunPage(runs, f"{next_token}|0" if next_token else None)

    async def get_run(self, repository: str, run_id: str, *, attempt: int | None = None) -> CiRun:
        slug = project_slug(repository)
        workflow = await self._get(f"/api/v2/workflow/{_uuid(run_id)}", f"workflow {run_id}")
        pipeline_id = text(workflow.get("pipeline_id")) or ""
        pipeline = await self._get(f"/api/v2/pipeline/{_uuid(pipeline_id)}", "its pipeline")
        siblings = await self._workflows_of(pipeline_id)
        position = next(
            (i for i, item in enumerate(siblings) if text(item.get("id")) == run_id),
            len(siblings),
        )
        return self._run(slug, workflow, pipeline, _attempt([*siblings, workflow], position))

    async def list_jobs(
        self, repository: str, run_id: str, *, attempt: int | None = None
    ) -> list[CiJob]:
        slug = project_slug(repository)
        jobs: list[CiJob] = []
        token: str | None = None
        for _ in range(20):
            params = {"page-token": token} if token else {}
            body = await self._get(
                f"/api/v2/workflow/{_uuid(run_id)}/job", f"jobs of workflow {run_id}", params
            )
            jobs.extend(self._job(slug, item) for item in items(body.get("items")))
            token = text(body.get("next_page_token"))
            if not token:
                break
        return jobs

    async def job_log(self, repository: str, job_id: str) -> str:
        slug = project_slug(repository)
        number = _job_number(job_id)
        vcs, org, name = slug.split("/")
        details = await self._get(
            f"/api/v1.1/project/{_VCS.get(vcs, vcs)}/{org}/{name}/{number}", f"job {number}"
        )
        parts: list[str] = []
        for step in items(details.get("steps")):
            for action in items(step.get("actions")):
                output_url = text(action.get("output_url"))
                if not output_url:
                    continue
                parts.append(f"##[step] {text(action.get('name')) or text(step.get('name'))}\n")
                parts.extend(await self._output(output_url))
        return "".join(parts)[-MAX_LOG_CHARS:]

    async def trigger(self, repository: str, request: TriggerRequest) -> CiRun:
        slug = project_slug(repository)
        document: dict[str, Any] = {"branch": request.ref.removeprefix("refs/heads/")}
        if request.inputs:
            document["parameters"] = dict(request.inputs)
        pipeline = await self._send(
            "POST", f"/api/v2/project/{slug}/pipeline", f"triggering a pipeline of {slug}", document
        )
        pipeline_id = text(pipeline.get("id")) or ""
        deadline = time.monotonic() + self._trigger_timeout
        while True:
            workflows = await self._workflows_of(pipeline_id)
            chosen = [
                w for w in workflows if not request.workflow or w.get("name") == request.workflow
            ]
            if chosen:
                full = await self._get(f"/api/v2/pipeline/{_uuid(pipeline_id)}", "the pipeline")
                return self._run(slug, chosen[0], full, 1)
            if time.monotonic() >= deadline:
                raise CiProviderError(
                    f"CircleCI started pipeline {pipeline.get('number')} of {slug}, but no "
                    f"workflow {request.workflow or ''} appeared in it within "
                    f"{self._trigger_timeout:.0f} s (is .circleci/config.yml valid?)",
                    provider="circleci",
                    pipeline=pipeline_id,
                )
            await asyncio.sleep(self._trigger_poll)

    async def rerun(self, repository: str, run_id: str, *, failed_only: bool) -> CiRun:
        answer = await self._send(
            "POST",
            f"/api/v2/workflow/{_uuid(run_id)}/rerun",
            f"re-running workflow {run_id}",
            {"from_failed": failed_only} if failed_only else {},
        )
        new_id = text(answer.get("workflow_id")) or run_id
        return await self.get_run(repository, new_id)

    async def rerun_job(self, repository: str, job_id: str) -> CiRun:
        """Rerun the job's workflow with only that job (CircleCI's ``jobs``: their ids)."""
        slug = project_slug(repository)
        number = _job_number(job_id)
        details = await self._get(f"/api/v2/project/{slug}/job/{number}", f"job {number}")
        workflow_id = text(mapping(details.get("latest_workflow")).get("id")) or ""
        body = await self._get(f"/api/v2/workflow/{_uuid(workflow_id)}/job", "its workflow's jobs")
        ids = [
            text(item.get("id"))
            for item in items(body.get("items"))
            if integer(item.get("job_number")) == number
        ]
        answer = await self._send(
            "POST",
            f"/api/v2/workflow/{_uuid(workflow_id)}/rerun",
            f"re-running job {number}",
            {"jobs": [job for job in ids if job]},
        )
        return await self.get_run(repository, text(answer.get("workflow_id")) or workflow_id)

    async def cancel(self, repository: str, run_id: str) -> CiRun:
        """``POST /workflow/{id}/cancel`` (202) unless the workflow has finished: CircleCI
        documents no answer for that case, so it is read first (as its own CLI does),
        and a refusal is accepted when the workflow turns out to have finished meanwhile."""
        run = await self.get_run(repository, run_id)
        if run.is_completed:
            return run
        try:
            await self._send(
                "POST", f"/api/v2/workflow/{_uuid(run_id)}/cancel", f"cancelling workflow {run_id}"
            )
        except (CiAuthenticationFailed, RateLimited):
            raise
        except (CiProviderError, ValidationFailed):
            now = await self.get_run(repository, run_id)
            if now.is_completed:
                return now
            raise
        return await self.get_run(repository, run_id)

    async def test_results(self, repository: str, run_id: str) -> list[TestResult]:
        slug = project_slug(repository)
        results: list[TestResult] = []
        for job in await self.list_jobs(repository, run_id):
            token: str | None = None
            for _ in range(50):
                params = {"page-token": token} if token else {}
                body = await self._get(
                    f"/api/v2/project/{slug}/{job.id}/tests", f"tests of job {job.id}", params
                )
                results.extend(_test_result(job.name, item) for item in items(body.get("items")))
                token = text(body.get("next_page_token"))
                if not token:
                    break
        return results

    # -- HTTP -----------------------------------------------------------------------------

    async def _workflows_of(self, pipeline_id: str) -> list[Mapping[str, Any]]:
        body = await self._get(
            f"/api/v2/pipeline/{_uuid(pipeline_id)}/workflow", f"workflows of {pipeline_id}"
        )
        return sorted(items(body.get("items")), key=lambda w: text(w.get("created_at")) or "")

    async def _output(self, url: str) -> list[str]:
        """A step's messages; the URL is signed and on another host: no token is sent."""
        try:
            response = await self._http.get(url)
        except httpx.HTTPError as error:
            raise CiProviderError(
                f"Could not fetch a CircleCI step log: {type(error).__name__}", provider="circleci"
            ) from None
        if response.status_code != 200:
            raise CiProviderError(
                f"CircleCI's step log answered {response.status_code}",
                provider="circleci",
                status=response.status_code,
            )
        try:
            messages = response.json()
        except ValueError:
            return [response.text]
        return [text(item.get("message")) or "" for item in items(messages)]

    async def _get(
        self, path: str, what: str, params: Mapping[str, str] | None = None
    ) -> Mapping[str, Any]:
        return await self._send("GET", path, what, None, params)

    async def _send(
        self,
        method: str,
        path: str,
        what: str,
        document: Any = None,
        params: Mapping[str, str] | None = None,
    ) -> Mapping[str, Any]:
        try:
            response = await self._http.request(
                method,
                self._url + path,
                params=params,
                json=document,
                headers={"Circle-Token": self._token},
            )
        except httpx.HTTPError as error:
            raise CiProviderError(
                f"Could not reach CircleCI for {what}: {type(error).__name__}",
                provider="circleci",
            ) from None
        if response.status_code >= 400:
            raise _failure(what, response)
        try:
            return mapping(response.json())
        except ValueError:
            return {}

    def _run(
        self,
        slug: str,
        workflow: Mapping[str, Any],
        pipeline: Mapping[str, Any],
        attempt: int,
    ) -> CiRun:
        status, conclusion = _STATES.get(
            text(workflow.get("status")) or "", (RunStatus.QUEUED, None)
        )
        vcs = mapping(pipeline.get("vcs"))
        number = integer(workflow.get("pipeline_number"), integer(pipeline.get("number")))
        run_id = text(workflow.get("id")) or ""
        return CiRun(
            id=run_id,
            provider=ProviderName.CIRCLECI,
            repository=slug,
            workflow=text(workflow.get("name")) or "",
            branch=text(vcs.get("branch")),
            head_sha=text(vcs.get("revision")),
            status=status,
            conclusion=conclusion,
            attempt=attempt,
            url=f"{self._app_url}/pipelines/{slug}/{number}/workflows/{run_id}",
            created_at=moment(workflow.get("created_at")),
            updated_at=moment(workflow.get("stopped_at")) or moment(pipeline.get("updated_at")),
        )

    def _job(self, slug: str, item: Mapping[str, Any]) -> CiJob:
        status, conclusion = _state(item)
        number = text(item.get("job_number"))
        return CiJob(
            id=number or text(item.get("id")) or "",
            name=text(item.get("name")) or "",
            status=status,
            conclusion=conclusion,
            started_at=moment(item.get("started_at")),
            finished_at=moment(item.get("stopped_at")),
            url=f"{self._app_url}/pipelines/{slug}/jobs/{number}" if number else None,
            steps=(),
        )


def project_slug(repository: str) -> str:
    """``gh/org/repo`` (or ``bb/…``, ``circleci/org-id/project-id``); ``org/repo`` means gh."""
    parts = repository.split("/")
    if len(parts) == 2:
        parts = ["gh", *parts]
    if len(parts) != 3 or not all(parts) or len(repository) > 200 or ".." in parts:
        raise ValidationFailed(
            f"A CircleCI project is named vcs/org/repo (gh/acme/app), not {repository[:200]!r}",
            field="repository",
        )
    return "/".join(parts)


def _state(item: Mapping[str, Any]) -> tuple[RunStatus, Conclusion | None]:
    return _STATES.get(text(item.get("status")) or "", (RunStatus.QUEUED, None))


def _uuid(value: str) -> str:
    if not value or len(value) > 64 or not all(c.isalnum() or c == "-" for c in value):
        raise ValidationFailed(f"A CircleCI id is a UUID, not {value[:64]!r}", field="run_id")
    return value


def _job_number(value: str) -> int:
    if not value.isdigit() or len(value) > 12:
        raise ValidationFailed(f"A CircleCI job is named by its number, not {value[:40]!r}")
    return int(value)


def _attempt(workflows: list[Mapping[str, Any]], position: int) -> int:
    """1 + the workflows of the same name before this one in its pipeline (reruns)."""
    if position >= len(workflows):
        return 1
    name = workflows[position].get("name")
    return 1 + sum(1 for w in workflows[:position] if w.get("name") == name)


def _matches(run: CiRun, filters: RunFilter) -> bool:
    if filters.workflow and run.workflow != filters.workflow:
        return False
    return filters.status is None or run.status is filters.status


def _failure(what: str, response: httpx.Response) -> Exception:
    status = response.status_code
    try:
        reason = text(mapping(response.json()).get("message")) or ""
    except ValueError:
        reason = response.text[:300]
    context: dict[str, Any] = {"provider": "circleci", "status": status, "reason": reason[:300]}
    if status == 404:
        return CiNotFound(f"Not found on CircleCI: {what} ({reason})", **context)
    if status in (401, 403):
        return CiAuthenticationFailed(
            f"CircleCI refused the token for {what} ({reason}): check the stored secret "
            "named by ORCHESTRATE_CI_CIRCLECI_TOKEN_SECRET",
            **context,
        )
    if status in (400, 422):
        return ValidationFailed(f"CircleCI refused {what}: {reason}", **context)
    return CiProviderError(f"CircleCI answered {status} to {what}: {reason}", **context)


def _test_result(job_name: str, item: Mapping[str, Any]) -> TestResult:
    run_time = item.get("run_time")
    if isinstance(run_time, str):  # some CircleCI answers send it as text
        try:
            run_time = float(run_time)
        except ValueError:
            run_time = None
    return TestResult(
        suite=job_name,
        classname=text(item.get("classname")) or "",
        name=text(item.get("name")) or "",
        status=_TEST_RESULTS.get(text(item.get("result")) or "", TestStatus.ERROR),
        duration=float(run_time) if isinstance(run_time, int | float) else None,
        message=(text(item.get("message")) or "")[:2000],
        file=text(item.get("file")),
    )


__all__ = ["CircleCi", "project_slug"]
