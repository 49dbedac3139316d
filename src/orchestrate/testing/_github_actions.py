"""GitHub Actions in the fake GitHub: workflows, runs and their attempts, jobs, logs,
``workflow_dispatch`` and re-runs, in the REST shapes GitHub answers with.

- ``GET /actions/runs``, ``/actions/workflows/{id or file}/runs`` (``branch``, ``status``,
  ``event``, pages), ``/actions/runs/{id}``, ``/actions/runs/{id}/attempts/{n}``;
- ``GET /actions/runs/{id}/jobs`` (``filter=latest|all``) and ``…/attempts/{n}/jobs``;
- a job's log (``_github_reviews``) and a run's logs answer 302 to the fake's second
  server: plain text for a job, a zip (one ``{n}_{job}.txt`` per job) for a run;
- ``POST /actions/workflows/{id or file}/dispatches`` → 204, a queued run on the ref
  (422 for an unknown ref or a workflow without the trigger is not modelled: any
  workflow dispatches);
- ``POST /actions/runs/{id}/rerun``, ``…/rerun-failed-jobs`` and
  ``/actions/jobs/{id}/rerun`` → 201: the run's ``run_attempt`` counts up and it is
  queued again, the jobs not re-run carried over (403 while it is still running);
  ``GET /actions/jobs/{id}``;
- ``POST /actions/runs/{id}/cancel`` → 202 ``{}``: the run and its unfinished jobs are
  completed ``cancelled`` (at once; GitHub takes a few seconds); 409 "Cannot cancel a
  workflow run that is completed." once it has completed.

Runs move with ``FakeGitHub.advance_run`` (queued → in_progress → completed).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from typing import Any

from orchestrate.testing._github_http import Answer, RestRequest, error, invalid, page_of, route
from orchestrate.testing._github_state import (
    FakeActionsJob,
    FakeRepository,
    FakeWorkflow,
    FakeWorkflowRun,
    GitHubState,
    now_iso,
    random_sha,
)

_STATUS_QUERY = {"queued", "in_progress", "completed", "waiting", "requested", "pending"}


def find_workflow(repository: FakeRepository, ref: str) -> FakeWorkflow | None:
    """By id, file name (``ci.yml``) or path, as GitHub's ``workflow_id`` accepts."""
    for workflow in repository.workflows.values():
        if ref in (str(workflow.id), workflow.path, workflow.path.rsplit("/", 1)[-1]):
            return workflow
    return None


def new_jobs(state: GitHubState, run: FakeWorkflowRun, repository: FakeRepository) -> None:
    for name, conclusion, log in run.workflow.jobs:
        job = FakeActionsJob(state.next_id(), name, run.run_attempt, planned=conclusion)
        job.steps = ["Set up job", f"Run {name}", "Complete job"]
        run.jobs.append(job)
        repository.job_logs[job.id] = log


def start_run(
    state: GitHubState,
    repository: FakeRepository,
    workflow: FakeWorkflow,
    branch: str,
    *,
    event: str,
    inputs: dict[str, Any] | None = None,
) -> FakeWorkflowRun:
    number = 1 + sum(1 for r in repository.workflow_runs.values() if r.workflow is workflow)
    run = FakeWorkflowRun(
        id=state.next_id(),
        workflow=workflow,
        head_branch=branch,
        head_sha=repository.head(branch) or random_sha(),
        event=event,
        run_number=number,
        inputs=dict(inputs or {}),
    )
    new_jobs(state, run, repository)
    repository.workflow_runs[run.id] = run
    return run


def advance(run: FakeWorkflowRun, status: str, conclusion: str | None) -> None:
    """Move the run's current attempt (and its jobs) to ``status``; once completed the
    run's conclusion is ``conclusion``, else the worst of its jobs' planned ones."""
    moment = now_iso()
    jobs = [job for job in run.jobs if job.run_attempt == run.run_attempt]
    for job in jobs:
        if job.status == "completed":
            continue
        job.status = status
        if status in ("in_progress", "completed") and job.started_at is None:
            job.started_at = moment
        if status == "completed":
            job.conclusion = conclusion if conclusion in ("cancelled",) else job.planned
            job.completed_at = moment
    run.status = status
    if status == "completed":
        failed = any(job.conclusion == "failure" for job in jobs)
        run.conclusion = conclusion or ("failure" if failed else "success")
    else:
        run.conclusion = None
    run.updated_at = moment


def render_run(run: FakeWorkflowRun, repository: FakeRepository, origin: str) -> dict[str, Any]:
    api = f"{origin}/repos/{repository.full_name}/actions"
    base = f"{api}/runs/{run.id}"
    return {
        "id": run.id,
        "name": run.workflow.name,
        "node_id": f"WFR_kw{run.id}",
        "head_branch": run.head_branch,
        "head_sha": run.head_sha,
        "path": run.workflow.path,
        "display_title": run.workflow.name,
        "run_number": run.run_number,
        "event": run.event,
        "status": run.status,
        "conclusion": run.conclusion,
        "workflow_id": run.workflow.id,
        "run_attempt": run.run_attempt,
        "url": base,
        "html_url": f"{origin}/{repository.full_name}/actions/runs/{run.id}",
        "jobs_url": f"{base}/jobs",
        "logs_url": f"{base}/logs",
        "rerun_url": f"{base}/rerun",
        "workflow_url": f"{api}/workflows/{run.workflow.id}",
        "created_at": run.created_at,
        "updated_at": run.updated_at,
        "run_started_at": run.created_at,
        "pull_requests": [],
    }


def render_attempt(
    run: FakeWorkflowRun, attempt: int, repository: FakeRepository, origin: str
) -> dict[str, Any]:
    rendered = render_run(run, repository, origin)
    if attempt != run.run_attempt:
        status, conclusion, updated_at = run.attempts[attempt]
        rendered |= {
            "run_attempt": attempt,
            "status": status,
            "conclusion": conclusion,
            "updated_at": updated_at,
        }
    return rendered


def render_job(
    job: FakeActionsJob, run: FakeWorkflowRun, repository: FakeRepository, origin: str
) -> dict[str, Any]:
    steps = []
    for number, name in enumerate(job.steps, start=1):
        steps.append(
            {
                "name": name,
                "status": job.status,
                "conclusion": job.conclusion,
                "number": number,
                "started_at": job.started_at,
                "completed_at": job.completed_at,
            }
        )
    return {
        "id": job.id,
        "run_id": run.id,
        "run_attempt": job.run_attempt,
        "node_id": f"CR_kw{job.id}",
        "head_sha": run.head_sha,
        "head_branch": run.head_branch,
        "workflow_name": run.workflow.name,
        "url": f"{origin}/repos/{repository.full_name}/actions/jobs/{job.id}",
        "html_url": f"{origin}/{repository.full_name}/actions/runs/{run.id}/job/{job.id}",
        "status": job.status,
        "conclusion": job.conclusion,
        "created_at": run.created_at,
        "started_at": job.started_at,
        "completed_at": job.completed_at,
        "name": job.name,
        "steps": steps,
        "labels": ["ubuntu-latest"],
    }


def _runs(
    state: GitHubState,
    request: RestRequest,
    repository: FakeRepository,
    workflow: FakeWorkflow | None,
) -> Answer:
    status = request.query.get("status")
    if status is not None and status not in _STATUS_QUERY and status not in _CONCLUSIONS:
        return invalid({"resource": "WorkflowRun", "field": "status", "code": "invalid"})
    found = [
        run
        for run in sorted(repository.workflow_runs.values(), key=lambda r: r.id, reverse=True)
        if (workflow is None or run.workflow is workflow)
        and request.query.get("branch", run.head_branch) == run.head_branch
        and request.query.get("event", run.event) == run.event
        and (status is None or status in (run.status, run.conclusion))
    ]
    rendered = [render_run(run, repository, state.origin) for run in found]
    return Answer(200, {"total_count": len(found), "workflow_runs": page_of(request, rendered)})


_CONCLUSIONS = {"success", "failure", "cancelled", "skipped", "timed_out", "action_required"}


@route("GET", r"/actions/runs")
def list_runs(
    state: GitHubState, request: RestRequest, repository: FakeRepository, args: list[str]
) -> Answer:
    return _runs(state, request, repository, None)


@route("GET", r"/actions/workflows/(?P<workflow>[^/]+)/runs")
def list_workflow_runs(
    state: GitHubState, request: RestRequest, repository: FakeRepository, args: list[str]
) -> Answer:
    workflow = find_workflow(repository, args[0])
    if workflow is None:
        return error(404, "Not Found")
    return _runs(state, request, repository, workflow)


def _run_of(repository: FakeRepository, value: str) -> FakeWorkflowRun | None:
    return repository.workflow_runs.get(int(value))


@route("GET", r"/actions/runs/(?P<run>\d+)")
def get_run(
    state: GitHubState, request: RestRequest, repository: FakeRepository, args: list[str]
) -> Answer:
    run = _run_of(repository, args[0])
    if run is None:
        return error(404, "Not Found")
    return Answer(200, render_run(run, repository, state.origin))


@route("GET", r"/actions/runs/(?P<run>\d+)/attempts/(?P<attempt>\d+)")
def get_attempt(
    state: GitHubState, request: RestRequest, repository: FakeRepository, args: list[str]
) -> Answer:
    run, attempt = _run_of(repository, args[0]), int(args[1])
    if run is None or not (attempt == run.run_attempt or attempt in run.attempts):
        return error(404, "Not Found")
    return Answer(200, render_attempt(run, attempt, repository, state.origin))


def _jobs(
    state: GitHubState,
    request: RestRequest,
    repository: FakeRepository,
    run: FakeWorkflowRun,
    attempt: int | None,
) -> Answer:
    if attempt is not None:
        jobs = [job for job in run.jobs if job.run_attempt == attempt]
    elif request.query.get("filter", "latest") == "all":
        jobs = list(run.jobs)
    else:
        latest: dict[str, FakeActionsJob] = {}
        for job in run.jobs:
            latest[job.name] = job
        jobs = list(latest.values())
    rendered = [render_job(job, run, repository, state.origin) for job in jobs]
    return Answer(200, {"total_count": len(jobs), "jobs": page_of(request, rendered)})


@route("GET", r"/actions/runs/(?P<run>\d+)/jobs")
def list_jobs(
    state: GitHubState, request: RestRequest, repository: FakeRepository, args: list[str]
) -> Answer:
    run = _run_of(repository, args[0])
    if run is None:
        return error(404, "Not Found")
    return _jobs(state, request, repository, run, None)


@route("GET", r"/actions/runs/(?P<run>\d+)/attempts/(?P<attempt>\d+)/jobs")
def list_attempt_jobs(
    state: GitHubState, request: RestRequest, repository: FakeRepository, args: list[str]
) -> Answer:
    run, attempt = _run_of(repository, args[0]), int(args[1])
    if run is None or attempt > run.run_attempt:
        return error(404, "Not Found")
    return _jobs(state, request, repository, run, attempt)


@route("GET", r"/actions/runs/(?P<run>\d+)/logs")
def run_logs(
    state: GitHubState, request: RestRequest, repository: FakeRepository, args: list[str]
) -> Answer:
    if _run_of(repository, args[0]) is None:
        return error(404, "Not Found")
    base = state.log_origin or request.origin
    location = f"{base}/_fake/run-logs/{repository.full_name}/{args[0]}?sig={random_sha()}"
    return Answer(302, "", {"location": location}, "text/plain")


def run_archive(repository: FakeRepository, run: FakeWorkflowRun) -> bytes:
    """A run's logs as GitHub serves them: a zip with one text file per job."""
    buffer = io.BytesIO()
    latest = [job for job in run.jobs if job.run_attempt == run.run_attempt]
    with zipfile.ZipFile(buffer, "w") as archive:
        for number, job in enumerate(latest):
            archive.writestr(f"{number}_{job.name}.txt", repository.job_logs.get(job.id, ""))
    return buffer.getvalue()


@route("POST", r"/actions/workflows/(?P<workflow>[^/]+)/dispatches")
def dispatch(
    state: GitHubState, request: RestRequest, repository: FakeRepository, args: list[str]
) -> Answer:
    workflow = find_workflow(repository, args[0])
    if workflow is None:
        return error(404, "Not Found")
    body = request.body if isinstance(request.body, dict) else {}
    ref = body.get("ref")
    inputs = body.get("inputs") or {}
    if not isinstance(ref, str) or not isinstance(inputs, dict):
        return invalid({"resource": "WorkflowDispatch", "field": "ref", "code": "missing_field"})
    branch = ref.removeprefix("refs/heads/")
    if repository.head(branch) is None:
        return error(422, f"No ref found for: {ref}")
    if len(inputs) > 25:
        return error(422, "you may only define up to 25 `inputs` for a `workflow_dispatch` event")
    run = start_run(state, repository, workflow, branch, event="workflow_dispatch", inputs=inputs)
    if body.get("return_run_details") is True:
        return Answer(200, {"workflow_run_id": run.id, "run_url": "", "html_url": ""})
    return Answer(204, "", content_type="text/plain")


def _rerun(
    state: GitHubState, repository: FakeRepository, args: list[str], *, failed_only: bool
) -> Answer:
    run = _run_of(repository, args[0])
    if run is None:
        return error(404, "Not Found")
    if run.status != "completed":
        return error(403, f"This workflow run is not completed: {run.status}")
    if failed_only:
        return _new_attempt(
            state,
            repository,
            run,
            lambda job: job.conclusion in ("failure", "cancelled", "timed_out"),
        )
    return _new_attempt(state, repository, run, lambda job: True)


def _new_attempt(
    state: GitHubState,
    repository: FakeRepository,
    run: FakeWorkflowRun,
    again: Callable[[FakeActionsJob], bool],
) -> Answer:
    """The run's next attempt: the jobs ``again`` picks queued, the others carried over
    as they ended (as GitHub shows a passed job in a re-run of the failed ones)."""
    previous = [job for job in run.jobs if job.run_attempt == run.run_attempt]
    run.attempts[run.run_attempt] = (run.status, run.conclusion, run.updated_at)
    run.run_attempt += 1
    run.status, run.conclusion, run.updated_at = "queued", None, now_iso()
    for job in previous:
        copy = FakeActionsJob(state.next_id(), job.name, run.run_attempt, planned=job.planned)
        copy.steps = list(job.steps)
        if not again(job):
            copy.status, copy.conclusion = job.status, job.conclusion
            copy.started_at, copy.completed_at = job.started_at, job.completed_at
        repository.job_logs[copy.id] = repository.job_logs.get(job.id, "")
        run.jobs.append(copy)
    return Answer(201, {})


def _job_and_run(
    repository: FakeRepository, job_id: int
) -> tuple[FakeActionsJob, FakeWorkflowRun] | None:
    for run in repository.workflow_runs.values():
        for job in run.jobs:
            if job.id == job_id:
                return job, run
    return None


@route("GET", r"/actions/jobs/(?P<job>\d+)")
def get_job(
    state: GitHubState, request: RestRequest, repository: FakeRepository, args: list[str]
) -> Answer:
    found = _job_and_run(repository, int(args[0]))
    if found is None:
        return error(404, "Not Found")
    return Answer(200, render_job(*found, repository, state.origin))


@route("POST", r"/actions/jobs/(?P<job>\d+)/rerun")
def rerun_job(
    state: GitHubState, request: RestRequest, repository: FakeRepository, args: list[str]
) -> Answer:
    """A new attempt of the job's run: that job queued again, the others carried over."""
    found = _job_and_run(repository, int(args[0]))
    if found is None:
        return error(404, "Not Found")
    job, run = found
    if run.status != "completed":
        return error(403, f"This workflow run is not completed: {run.status}")
    return _new_attempt(state, repository, run, lambda old: old.name == job.name)


@route("POST", r"/actions/runs/(?P<run>\d+)/rerun")
def rerun(
    state: GitHubState, request: RestRequest, repository: FakeRepository, args: list[str]
) -> Answer:
    return _rerun(state, repository, args, failed_only=False)


@route("POST", r"/actions/runs/(?P<run>\d+)/rerun-failed-jobs")
def rerun_failed(
    state: GitHubState, request: RestRequest, repository: FakeRepository, args: list[str]
) -> Answer:
    return _rerun(state, repository, args, failed_only=True)


@route("POST", r"/actions/runs/(?P<run>\d+)/cancel")
def cancel(
    state: GitHubState, request: RestRequest, repository: FakeRepository, args: list[str]
) -> Answer:
    run = _run_of(repository, args[0])
    if run is None:
        return error(404, "Not Found")
    if run.status == "completed":
        return error(409, "Cannot cancel a workflow run that is completed.")
    advance(run, "completed", "cancelled")
    return Answer(202, {})
