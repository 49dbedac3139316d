"""GitLab CI in the fake GitLab: creating a pipeline, retrying one or a job, the test report.

- ``POST /projects/:id/pipeline`` (``ref``, ``variables`` as ``[{key, value}]``) → 201, a
  pipeline with the project's CI jobs (``FakeGitLab.set_ci_jobs``), pending; 400
  ``{"base": ["Reference not found"]}`` for a ref that is no branch;
- ``POST /projects/:id/pipelines/:id/retry`` → 201: each failed or canceled job is
  marked ``retried`` and a pending copy takes its place (GitLab keeps the pipeline id);
- ``POST /projects/:id/pipelines/:id/cancel`` → 200, the pipeline: its jobs that can be
  cancelled (created, pending, running…; not manual ones) end ``canceled`` at once, and
  GitLab answers 200 whatever the pipeline's state (one that has finished stays so);
- ``POST /projects/:id/jobs/:id/retry`` → 201, the new job;
- ``GET /projects/:id/pipelines/:id/test_report``: the cases of the pipeline's jobs
  (the latest of each), one suite per job, with GitLab's counts.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from orchestrate.testing._gitlab_http_types import Call, Reply
from orchestrate.testing._gitlab_state import (
    ApiError,
    Job,
    JsonObject,
    Pipeline,
    Project,
    World,
    job_json,
    now,
    pipeline_json,
)

_RETRYABLE = {"failed", "canceled"}
_CANCELABLE = {
    "created",
    "waiting_for_resource",
    "waiting_for_callback",
    "preparing",
    "pending",
    "running",
    "scheduled",
}
"""GitLab's ``Ci::HasStatus::CANCELABLE_STATUSES``: what a pipeline's cancel stops."""
_DONE = {"success", "failed", "canceled", "skipped", "manual"}


def _pipeline(project: Project, pipeline_id: str) -> Pipeline:
    found = next((p for p in project.pipelines if str(p.id) == pipeline_id), None)
    if found is None:
        raise ApiError(404, "404 Not found")
    return found


def _copy(world: World, job: Job, pipeline_id: int) -> Job:
    return Job(
        world.next_id(),
        job.name,
        "pending",
        job.stage,
        job.trace,
        job.allow_failure,
        None,
        pipeline_id=pipeline_id,
        test_cases=list(job.test_cases),
    )


def create_pipeline(world: World, call: Call, project: Project) -> Reply:
    ref = call.params.get("ref")
    if not isinstance(ref, str) or not ref:
        raise ApiError(400, "400 Bad request - ref is missing")
    if ref not in project.branches:
        raise ApiError(400, {"base": ["Reference not found"]})
    variables: dict[str, str] = {}
    for item in call.params.get("variables") or []:
        if not isinstance(item, dict) or not isinstance(item.get("key"), str):
            raise ApiError(400, "400 Bad request - variables is invalid")
        variables[item["key"]] = str(item.get("value", ""))
    if not project.ci_jobs:
        raise ApiError(400, {"base": ["Missing CI config file"]})
    pipeline = world.add_pipeline(
        project, project.branches[ref], ref, [_copy(world, job, 0) for job in project.ci_jobs]
    )
    pipeline.source, pipeline.variables = "api", variables
    return Reply(201, pipeline_json(world.origin, project, pipeline))


def retry_pipeline(world: World, project: Project, pipeline_id: str) -> Reply:
    pipeline = _pipeline(project, pipeline_id)
    for job in list(pipeline.jobs):
        if not job.retried and job.status in _RETRYABLE:
            job.retried = True
            pipeline.jobs.append(_copy(world, job, pipeline.id))
    pipeline.updated_at = now()
    return Reply(201, pipeline_json(world.origin, project, pipeline))


def cancel_pipeline(world: World, project: Project, pipeline_id: str) -> Reply:
    pipeline = _pipeline(project, pipeline_id)
    moment = now()
    for job in pipeline.jobs:
        if not job.retried and job.status in _CANCELABLE:
            job.status, job.finished_at = "canceled", moment
            pipeline.updated_at = moment
    return Reply(200, pipeline_json(world.origin, project, pipeline))


def retry_job(world: World, project: Project, job_id: str) -> Reply:
    job = project.find_job(int(job_id)) if job_id.isdigit() else None
    if job is None:
        raise ApiError(404, "404 Not found")
    if job.status not in _DONE or job.retried:
        raise ApiError(403, "403 Forbidden - Job is not retryable")
    pipeline = _pipeline(project, str(job.pipeline_id))
    job.retried = True
    copy = _copy(world, job, pipeline.id)
    pipeline.jobs.append(copy)
    pipeline.updated_at = now()
    return Reply(201, job_json(world.origin, project, pipeline, copy))


def test_report(project: Project, pipeline_id: str) -> Reply:
    pipeline = _pipeline(project, pipeline_id)
    suites = [_suite(job) for job in pipeline.jobs if not job.retried and job.test_cases]
    totals = _counts([case for job in pipeline.jobs if not job.retried for case in job.test_cases])
    total_time = sum(suite["total_time"] for suite in suites)
    return Reply(200, {"total_time": total_time, **totals, "test_suites": suites})


def _suite(job: Job) -> JsonObject:
    cases = [dict(case) for case in job.test_cases]
    return {
        "name": job.name,
        "total_time": sum(float(case.get("execution_time") or 0) for case in cases),
        **_counts(cases),
        "suite_error": None,
        "test_cases": cases,
    }


def _counts(cases: list[Any]) -> dict[str, int]:
    statuses = Counter(case.get("status") for case in cases)
    return {
        "total_count": len(cases),
        "success_count": statuses["success"],
        "failed_count": statuses["failed"],
        "skipped_count": statuses["skipped"],
        "error_count": statuses["error"],
    }
