"""A fake CircleCI (API v2, and the v1.1 job endpoint) on 127.0.0.1, for the real clients.

    with FakeCircleCI() as circleci:
        circleci.add_project("gh/acme/app", branches=("main", "feature"))
        circleci.set_config("gh/acme/app", {"build": [CircleJob("test", "failed", output="boom")]})
        pipeline = circleci.add_pipeline("gh/acme/app", "main")
        workflow = circleci.workflows_of(pipeline)[0]
        circleci.advance_workflow(workflow, "completed")

It keeps projects (their branches and "config": the workflows, and their jobs, every new
pipeline gets), pipelines, workflows and jobs, and speaks CircleCI's shapes:

- ``GET /api/v2/project/{slug}/pipeline`` (``branch``, ``page-token``), ``POST`` the same
  (``branch``, ``parameters``) → 201 ``{id, state, number, created_at}``;
- ``GET /api/v2/pipeline/{id}``, ``/pipeline/{id}/workflow``, ``/workflow/{id}``,
  ``/workflow/{id}/job``; ``POST /workflow/{id}/rerun`` (``from_failed``) → 202
  ``{workflow_id}``: a new workflow of the same pipeline; ``POST /workflow/{id}/cancel``
  → 202 ``{"message": "Accepted."}``: the workflow and its unfinished jobs end
  ``canceled`` (a finished workflow is left as it ended: CircleCI documents no other
  answer for it);
- ``GET /api/v2/project/{slug}/job/{number}`` and ``/project/{slug}/{number}/tests``;
- ``GET /api/v1.1/project/{vcs}/{org}/{repo}/{number}``: the job's ``steps[].actions[]``
  whose ``output_url`` points at the fake's second server, which answers the step's
  output as a JSON array of messages and records every request (``output_downloads``),
  headers included: a client must not send its token there.

Every API request needs ``Circle-Token`` (401 otherwise); ``fail_next`` answers the next
requests with a scripted status (429 with ``Retry-After``, 5xx).
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterable, Mapping
from typing import Any, Self
from urllib.parse import parse_qsl, unquote, urlsplit

from orchestrate.testing._circleci_state import (
    FINISHED,
    PAGE_SIZE,
    SLUG_VCS,
    CircleJob,
    CircleRequest,
    CircleTest,
    Job,
    Pipeline,
    Project,
    Reply,
    Workflow,
    job_json,
    now,
    pipeline_json,
    render_test,
    workflow_json,
)
from orchestrate.testing._http_server import InBackground, ThreadedServer

DEFAULT_TOKEN = "circle-fake-token"  # noqa: S105 - the fake's own credential


class FakeCircleCI(InBackground):
    """CircleCI on 127.0.0.1; ``url`` goes to ``ORCHESTRATE_CI_CIRCLECI_URL``."""

    def __init__(self, *, token: str = DEFAULT_TOKEN) -> None:
        self.token = token
        self.requests: list[CircleRequest] = []
        self.output_downloads: list[CircleRequest] = []
        self._lock = threading.RLock()
        self._projects: dict[str, Project] = {}
        self._pipelines: dict[str, Pipeline] = {}
        self._workflows: dict[str, Workflow] = {}
        self._jobs: dict[int, Job] = {}
        self._failures: list[Reply] = []
        self._next_number = 100
        self._server = ThreadedServer(self._serve, name="fake-circleci")
        self._output_server = ThreadedServer(self._serve_output, name="fake-circleci-output")

    def start(self) -> Self:
        self._server.start()
        self._output_server.start()
        return self

    def stop(self) -> None:
        self._server.stop()
        self._output_server.stop()

    @property
    def url(self) -> str:
        return self._server.origin

    # -- arranging ------------------------------------------------------------------------

    def add_project(self, slug: str, *, branches: Iterable[str] = ("main",)) -> None:
        with self._lock:
            self._projects[slug] = Project(
                slug, {b: uuid.uuid4().hex + uuid.uuid4().hex[:8] for b in branches}
            )

    def set_config(self, slug: str, workflows: Mapping[str, list[CircleJob]]) -> None:
        """The workflows (name → jobs) each new pipeline of the project runs."""
        with self._lock:
            self._projects[slug].config = {name: list(jobs) for name, jobs in workflows.items()}

    def add_pipeline(
        self, slug: str, branch: str = "main", parameters: Mapping[str, Any] | None = None
    ) -> str:
        """A pipeline on ``branch`` with a workflow per configured one; its id."""
        with self._lock:
            return self._start_pipeline(self._projects[slug], branch, dict(parameters or {})).id

    def workflows_of(self, pipeline_id: str) -> list[str]:
        with self._lock:
            return list(self._pipelines[pipeline_id].workflows)

    def pipeline(self, pipeline_id: str) -> dict[str, Any]:
        """The pipeline as the API shows it, with the parameters it was triggered with."""
        with self._lock:
            found = self._pipelines[pipeline_id]
            return pipeline_json(found) | {"parameters": dict(found.parameters)}

    def pipelines(self, slug: str) -> list[str]:
        with self._lock:
            return list(self._projects[slug].pipelines)

    def advance_workflow(self, workflow_id: str, status: str) -> None:
        """``running`` (its queued jobs start) or ``completed`` (each job ends as
        configured; the workflow succeeds or fails with them)."""
        with self._lock:
            workflow = self._workflows[workflow_id]
            moment = now()
            for number in workflow.jobs:
                job = self._jobs[number]
                if job.status in FINISHED:
                    continue
                job.started_at = job.started_at or moment
                job.status = "running" if status == "running" else job.ends
                if status != "running":
                    job.stopped_at = moment
            if status == "running":
                workflow.status = "running"
                return
            failed = any(self._jobs[n].status != "success" for n in workflow.jobs)
            workflow.status = "failed" if failed else "success"
            workflow.stopped_at = moment

    def fail_next(self, status: int, *, retry_after: float | None = None, times: int = 1) -> None:
        headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
        with self._lock:
            for _ in range(times):
                self._failures.append(Reply(status, {"message": "Rate limit exceeded"}, headers))

    def calls(self, method: str | None = None, path: str = "") -> list[CircleRequest]:
        with self._lock:
            return [r for r in self.requests if (method in (None, r.method)) and path in r.path]

    # -- the world ------------------------------------------------------------------------

    def _start_pipeline(
        self, project: Project, branch: str, parameters: dict[str, Any]
    ) -> Pipeline:
        self._next_number += 1
        pipeline = Pipeline(
            str(uuid.uuid4()),
            len(project.pipelines) + 1,
            project.slug,
            branch,
            project.branches[branch],
            parameters,
        )
        self._pipelines[pipeline.id] = pipeline
        project.pipelines.append(pipeline.id)
        for name, jobs in project.config.items():
            workflow = self._new_workflow(pipeline, name)
            for spec in jobs:
                self._new_job(workflow, spec.name, spec.ends, spec.output, spec.tests)
        return pipeline

    def _new_workflow(self, pipeline: Pipeline, name: str) -> Workflow:
        workflow = Workflow(str(uuid.uuid4()), name, pipeline.id, pipeline.number, pipeline.slug)
        self._workflows[workflow.id] = workflow
        pipeline.workflows.append(workflow.id)
        return workflow

    def _new_job(
        self, workflow: Workflow, name: str, ends: str, output: str, tests: tuple[CircleTest, ...]
    ) -> Job:
        self._next_number += 1
        job = Job(str(uuid.uuid4()), self._next_number, name, ends, output, tests, workflow.id)
        self._jobs[job.number] = job
        workflow.jobs.append(job.number)
        return job

    def _rerun(self, workflow: Workflow, from_failed: bool, chosen: set[str] | None) -> Workflow:
        """A new workflow of the pipeline: every job again, only the failed ones
        (``from_failed``), or only those ``chosen`` by id; the others carried over."""
        pipeline = self._pipelines[workflow.pipeline_id]
        again = self._new_workflow(pipeline, workflow.name)
        for number in workflow.jobs:
            old = self._jobs[number]
            job = self._new_job(again, old.name, old.ends, old.output, old.tests)
            kept = (from_failed and old.status == "success") or (
                chosen is not None and old.id not in chosen
            )
            if kept:
                job.status, job.started_at, job.stopped_at = (
                    "success",
                    old.started_at,
                    old.stopped_at,
                )
        return again

    def _cancel(self, workflow: Workflow) -> None:
        if workflow.status in FINISHED:
            return
        moment = now()
        for number in workflow.jobs:
            job = self._jobs[number]
            if job.status not in FINISHED:
                job.status, job.stopped_at = "canceled", moment
        workflow.status, workflow.stopped_at = "canceled", moment

    # -- serving --------------------------------------------------------------------------

    def _serve(self, method: str, target: str, headers: dict[str, str], raw: bytes) -> Reply:
        parts = urlsplit(target)
        query = dict(parse_qsl(parts.query))
        with self._lock:
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = None
            reply = self._answer(method, parts.path, query, headers, body)
            self.requests.append(
                CircleRequest(method, parts.path, query, body, dict(headers), reply.status)
            )
        return reply

    def _answer(
        self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: Any
    ) -> Reply:
        if self._failures:
            return self._failures.pop(0)
        if headers.get("circle-token") != self.token:
            return Reply(401, {"message": "You must log in first."})
        segments = [unquote(part) for part in path.split("/") if part]
        try:
            return self._route(method, segments, query, body if isinstance(body, dict) else {})
        except KeyError:
            return Reply(404, {"message": "Not found."})

    def _route(
        self, method: str, segments: list[str], query: dict[str, str], body: dict[str, Any]
    ) -> Reply:
        match (method, *segments):
            case ("GET", "api", "v2", "project", vcs, org, repo, "pipeline"):
                return self._list_pipelines(f"{vcs}/{org}/{repo}", query)
            case ("POST", "api", "v2", "project", vcs, org, repo, "pipeline"):
                return self._trigger(self._projects[f"{vcs}/{org}/{repo}"], body)
            case ("GET", "api", "v2", "pipeline", pipeline_id):
                return Reply(200, pipeline_json(self._pipelines[pipeline_id]))
            case ("GET", "api", "v2", "pipeline", pipeline_id, "workflow"):
                ids = self._pipelines[pipeline_id].workflows
                items = [workflow_json(self._workflows[i]) for i in ids]
                return Reply(200, {"items": items, "next_page_token": None})
            case ("GET", "api", "v2", "workflow", workflow_id):
                return Reply(200, workflow_json(self._workflows[workflow_id]))
            case ("GET", "api", "v2", "workflow", workflow_id, "job"):
                workflow = self._workflows[workflow_id]
                jobs = [job_json(self._jobs[n], workflow.slug) for n in workflow.jobs]
                return Reply(200, {"items": jobs, "next_page_token": None})
            case ("POST", "api", "v2", "workflow", workflow_id, "rerun"):
                workflow = self._workflows[workflow_id]
                if workflow.status in ("running", "on_hold"):
                    return Reply(400, {"message": "Workflow is still running."})
                asked = body.get("jobs")
                chosen = {str(job) for job in asked} if isinstance(asked, list) else None
                again = self._rerun(workflow, body.get("from_failed") is True, chosen)
                return Reply(202, {"workflow_id": again.id})
            case ("POST", "api", "v2", "workflow", workflow_id, "cancel"):
                self._cancel(self._workflows[workflow_id])
                return Reply(202, {"message": "Accepted."})
            case ("GET", "api", "v2", "project", vcs, org, repo, "job", number):
                return self._job_details(f"{vcs}/{org}/{repo}", number)
            case ("GET", "api", "v2", "project", vcs, org, repo, number, "tests"):
                job = self._job_of(f"{vcs}/{org}/{repo}", number)
                items = [render_test(test) for test in job.tests]
                return Reply(200, {"items": items, "next_page_token": None})
            case ("GET", "api", "v1.1", "project", vcs, org, repo, number):
                return self._v1_job(SLUG_VCS.get(vcs, vcs) + f"/{org}/{repo}", number)
        return Reply(404, {"message": "Not found."})

    def _list_pipelines(self, slug: str, query: dict[str, str]) -> Reply:
        project = self._projects[slug]
        found = [
            self._pipelines[i]
            for i in reversed(project.pipelines)
            if query.get("branch", self._pipelines[i].branch) == self._pipelines[i].branch
        ]
        token = query.get("page-token", "")
        start = int(token.removeprefix("p")) if token.startswith("p") else 0
        page = found[start : start + PAGE_SIZE]
        more = start + PAGE_SIZE < len(found)
        items = [pipeline_json(p) for p in page]
        return Reply(
            200, {"items": items, "next_page_token": f"p{start + PAGE_SIZE}" if more else None}
        )

    def _trigger(self, project: Project, body: dict[str, Any]) -> Reply:
        branch = body.get("branch") or next(iter(project.branches))
        parameters = body.get("parameters") or {}
        if branch not in project.branches:
            return Reply(400, {"message": f"Branch not found: {branch}"})
        if not isinstance(parameters, dict):
            return Reply(400, {"message": "parameters must be a map"})
        pipeline = self._start_pipeline(project, branch, parameters)
        return Reply(
            201,
            {
                "id": pipeline.id,
                "state": "pending",
                "number": pipeline.number,
                "created_at": pipeline.created_at,
            },
        )

    def _job_of(self, slug: str, number: str) -> Job:
        job = self._jobs[int(number)] if number.isdigit() else None
        if job is None or self._workflows[job.workflow_id].slug != slug:
            raise KeyError(number)
        return job

    def _job_details(self, slug: str, number: str) -> Reply:
        job = self._job_of(slug, number)
        return Reply(
            200,
            {
                "web_url": f"https://app.circleci.com/pipelines/{slug}/jobs/{job.number}",
                "name": job.name,
                "number": job.number,
                "status": job.status,
                "started_at": job.started_at,
                "stopped_at": job.stopped_at,
                "latest_workflow": {"id": job.workflow_id},
                "parallelism": 1,
            },
        )

    def _v1_job(self, slug: str, number: str) -> Reply:
        job = self._job_of(slug, number)
        output = f"{self._output_server.origin}/output/{job.number}?sig={uuid.uuid4().hex}"
        step = {
            "name": "Run tests",
            "actions": [
                {
                    "name": "Run tests",
                    "index": 0,
                    "step": 1,
                    "status": job.status,
                    "type": "test",
                    "has_output": bool(job.output),
                    "output_url": output if job.output else None,
                }
            ],
        }
        return Reply(200, {"build_num": job.number, "status": job.status, "steps": [step]})

    def _serve_output(self, method: str, target: str, headers: dict[str, str], raw: bytes) -> Reply:
        parts = urlsplit(target)
        with self._lock:
            number = parts.path.removeprefix("/output/")
            job = self._jobs.get(int(number)) if number.isdigit() else None
            if job is None or "sig=" not in parts.query:
                reply = Reply(403, "<Error><Code>AccessDenied</Code></Error>")
            else:
                reply = Reply(200, [{"message": job.output, "time": now(), "type": "out"}])
            self.output_downloads.append(
                CircleRequest(method, parts.path, {}, None, dict(headers), reply.status)
            )
        return reply


__all__ = ["DEFAULT_TOKEN", "CircleJob", "CircleRequest", "CircleTest", "FakeCircleCI"]
