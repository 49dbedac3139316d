"""The fake CircleCI's world: projects and their config, pipelines, workflows, jobs, and
their JSON as CircleCI's API v2 renders them."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

PAGE_SIZE = 20
FINISHED = {"success", "failed", "canceled", "not_run", "infrastructure_fail", "timedout"}


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class CircleTest:
    """One test of a job's stored test metadata; ``result`` success, failure or skipped."""

    name: str
    result: str = "success"
    classname: str = ""
    message: str = ""
    run_time: float = 0.01
    file: str | None = None


@dataclass(frozen=True)
class CircleJob:
    """A job of a workflow in the config: the status it ends with, what its step prints."""

    name: str
    ends: str = "success"
    output: str = ""
    tests: tuple[CircleTest, ...] = ()


@dataclass
class Job:
    id: str
    number: int
    name: str
    ends: str
    output: str
    tests: tuple[CircleTest, ...]
    workflow_id: str
    status: str = "queued"
    started_at: str | None = None
    stopped_at: str | None = None


@dataclass
class Workflow:
    id: str
    name: str
    pipeline_id: str
    pipeline_number: int
    slug: str
    status: str = "running"
    created_at: str = field(default_factory=now)
    stopped_at: str | None = None
    jobs: list[int] = field(default_factory=list)


@dataclass
class Pipeline:
    id: str
    number: int
    slug: str
    branch: str
    revision: str
    parameters: dict[str, Any]
    created_at: str = field(default_factory=now)
    workflows: list[str] = field(default_factory=list)


@dataclass
class Project:
    slug: str
    branches: dict[str, str]
    config: dict[str, list[CircleJob]] = field(default_factory=dict)
    pipelines: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class CircleRequest:
    method: str
    path: str
    query: Mapping[str, str]
    body: Any
    headers: Mapping[str, str] = field(repr=False)
    status: int


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


def pipeline_json(pipeline: Pipeline) -> dict[str, Any]:
    return {
        "id": pipeline.id,
        "errors": [],
        "project_slug": pipeline.slug,
        "updated_at": pipeline.created_at,
        "number": pipeline.number,
        "state": "created",
        "created_at": pipeline.created_at,
        "trigger": {
            "type": "api",
            "received_at": pipeline.created_at,
            "actor": {"login": "bot"},
        },
        "vcs": {
            "provider_name": "GitHub",
            "branch": pipeline.branch,
            "revision": pipeline.revision,
            "origin_repository_url": f"https://github.com/{pipeline.slug.split('/', 1)[1]}",
        },
    }


def workflow_json(workflow: Workflow) -> dict[str, Any]:
    return {
        "pipeline_id": workflow.pipeline_id,
        "canceled_by": None,
        "id": workflow.id,
        "name": workflow.name,
        "project_slug": workflow.slug,
        "errored_by": None,
        "tag": None,
        "status": workflow.status,
        "started_by": str(uuid.UUID(int=1)),
        "pipeline_number": workflow.pipeline_number,
        "created_at": workflow.created_at,
        "stopped_at": workflow.stopped_at,
    }


def job_json(job: Job, slug: str) -> dict[str, Any]:
    return {
        "canceled_by": None,
        "dependencies": [],
        "job_number": job.number,
        "id": job.id,
        "started_at": job.started_at,
        "name": job.name,
        "approved_by": None,
        "project_slug": slug,
        "status": job.status,
        "type": "build",
        "stopped_at": job.stopped_at,
    }


SLUG_VCS = {"github": "gh", "bitbucket": "bb"}


def render_test(test: CircleTest) -> dict[str, Any]:
    return {
        "message": test.message,
        "source": "junit",
        "run_time": test.run_time,
        "file": test.file,
        "result": test.result,
        "name": test.name,
        "classname": test.classname,
    }
