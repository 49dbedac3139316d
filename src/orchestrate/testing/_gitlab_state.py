"""The fake GitLab's world: projects, branches, merge requests, notes, pipelines, jobs.

Plain mutable records under the server's lock, and their JSON as GitLab's API v4 writes
it (the fields python-gitlab and Orchestrate read, with GitLab's names and shapes).
"""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

JsonObject = dict[str, Any]

_counter = itertools.count(1)


def new_sha() -> str:
    """A fresh commit id (40 hex digits), never seen before in this process."""
    return hashlib.sha1(f"fake-gitlab-commit-{next(_counter)}".encode()).hexdigest()  # noqa: S324


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


DRAFT_PREFIXES = ("draft:", "[draft]", "(draft)", "draft -", "wip:", "[wip]")


@dataclass
class User:
    id: int
    username: str

    def json(self, origin: str) -> JsonObject:
        return {
            "id": self.id,
            "username": self.username,
            "name": self.username.title(),
            "state": "active",
            "web_url": f"{origin}/{self.username}",
        }


@dataclass
class Note:
    id: int
    body: str
    author: User
    type: str | None = None  # None (a comment), "DiscussionNote" or "DiffNote"
    system: bool = False
    resolvable: bool = False
    resolved: bool = False
    resolved_by: User | None = None
    position: JsonObject | None = None
    created_at: str = field(default_factory=now)


@dataclass
class Discussion:
    id: str
    notes: list[Note]
    individual_note: bool

    @property
    def resolvable(self) -> bool:
        return any(note.resolvable for note in self.notes)

    @property
    def resolved(self) -> bool:
        return self.resolvable and all(note.resolved for note in self.notes if note.resolvable)


@dataclass
class Job:
    id: int
    name: str
    status: str
    stage: str
    trace: str
    allow_failure: bool
    failure_reason: str | None
    pipeline_id: int = 0
    retried: bool = False
    test_cases: list[JsonObject] = field(default_factory=list)
    """The job's JUnit report as GitLab's test report shows its cases."""
    created_at: str = field(default_factory=lambda: now())
    finished_at: str | None = None


@dataclass
class Pipeline:
    id: int
    sha: str
    ref: str
    jobs: list[Job]
    source: str = "push"
    variables: dict[str, str] = field(default_factory=dict)
    created_at: str = field(default_factory=lambda: now())
    updated_at: str = field(default_factory=lambda: now())

    @property
    def status(self) -> str:
        states = [job.status for job in self.jobs if not job.retried]
        if states and all(state in ("pending", "created") for state in states):
            return "pending"
        if any(state in ("running", "pending", "created", "preparing") for state in states):
            return "running"
        failed = [job for job in self.jobs if job.status == "failed" and not job.retried]
        if any(not job.allow_failure for job in failed):
            return "failed"
        # As GitLab's composite status: cancelled jobs beside passed or skipped ones make
        # a cancelled pipeline; jobs allowed to fail that failed, were cancelled or wait
        # to be played (a manual job's default) are ignored.
        counted = {
            job.status
            for job in self.jobs
            if not job.retried
            and not (job.allow_failure and job.status in ("failed", "canceled", "manual"))
        }
        if "canceled" in counted and counted <= {"canceled", "success", "skipped"}:
            return "canceled"
        return "success" if states else "created"


@dataclass
class MergeRequest:
    id: int
    iid: int
    title: str
    description: str
    source_branch: str
    target_branch: str
    author: User
    sha: str
    base_sha: str
    labels: list[str] = field(default_factory=list)
    state: str = "opened"
    has_conflicts: bool = False
    merge_commit_sha: str | None = None
    squash_commit_sha: str | None = None
    squash: bool = False
    merge_params: JsonObject = field(default_factory=dict)
    merge_error: str | None = None
    rebase_polls_left: int = 0
    discussions: list[Discussion] = field(default_factory=list)
    approved_by: list[User] = field(default_factory=list)
    reviewer_states: dict[str, tuple[User, str]] = field(default_factory=dict)
    created_at: str = field(default_factory=now)
    updated_at: str = field(default_factory=now)

    @property
    def draft(self) -> bool:
        return self.title.strip().lower().startswith(DRAFT_PREFIXES)

    @property
    def notes(self) -> list[Note]:
        return [note for discussion in self.discussions for note in discussion.notes]

    @property
    def rebase_in_progress(self) -> bool:
        return self.rebase_polls_left > 0

    def unresolved(self) -> bool:
        return any(d.resolvable and not d.resolved for d in self.discussions)


@dataclass
class Project:
    id: int
    path: str
    default_branch: str
    visibility: str
    clone_url: str | None
    branches: dict[str, str] = field(default_factory=dict)
    merge_requests: dict[int, MergeRequest] = field(default_factory=dict)
    pipelines: list[Pipeline] = field(default_factory=list)
    ci_jobs: list[Job] = field(default_factory=list)
    """The jobs a pipeline created through the API gets (its .gitlab-ci.yml, in effect)."""
    merge_method: str = "merge"
    only_allow_merge_if_all_discussions_are_resolved: bool = False
    only_allow_merge_if_pipeline_succeeds: bool = False
    history: dict[str, list[str]] = field(default_factory=dict)
    """Every sha each branch was pushed to, in order (the fake has no commits to count)."""

    def commits_since(self, branch: str, sha: str) -> int:
        """Pushes to ``branch`` after it was at ``sha``: the fake's count of the commits a
        branch based on ``sha`` lacks (one per push; 1 when ``sha`` is not in its history)."""
        current = self.branches.get(branch)
        if current is None or current == sha:
            return 0
        pushed = self.history.get(branch, [])
        return len(pushed) - 1 - pushed.index(sha) if sha in pushed else 1

    def json(self, origin: str) -> JsonObject:
        namespace, _, name = self.path.rpartition("/")
        return {
            "id": self.id,
            "name": name,
            "path": name,
            "path_with_namespace": self.path,
            "name_with_namespace": self.path.replace("/", " / "),
            "namespace": {"full_path": namespace, "path": namespace.rpartition("/")[2]},
            "default_branch": self.default_branch,
            "visibility": self.visibility,
            "web_url": f"{origin}/{self.path}",
            "http_url_to_repo": self.clone_url or f"{origin}/{self.path}.git",
            "ssh_url_to_repo": f"git@127.0.0.1:{self.path}.git",
            "merge_method": self.merge_method,
            "only_allow_merge_if_all_discussions_are_resolved": (
                self.only_allow_merge_if_all_discussions_are_resolved
            ),
            "only_allow_merge_if_pipeline_succeeds": self.only_allow_merge_if_pipeline_succeeds,
        }

    def latest_pipeline(self, sha: str) -> Pipeline | None:
        found = [pipeline for pipeline in self.pipelines if pipeline.sha == sha]
        return max(found, key=lambda pipeline: pipeline.id) if found else None

    def find_job(self, job_id: int) -> Job | None:
        for pipeline in self.pipelines:
            for job in pipeline.jobs:
                if job.id == job_id:
                    return job
        return None


def detailed_merge_status(project: Project, mr: MergeRequest) -> str:
    if mr.state != "opened":
        return "not_open"
    if mr.draft:
        return "draft_status"
    if mr.has_conflicts:
        return "conflict"
    if project.only_allow_merge_if_all_discussions_are_resolved and mr.unresolved():
        return "discussions_not_resolved"
    if project.only_allow_merge_if_pipeline_succeeds:
        pipeline = project.latest_pipeline(mr.sha)
        if pipeline is None or pipeline.status != "success":
            return "ci_must_pass"
    return "mergeable"


def merge_request_json(origin: str, project: Project, mr: MergeRequest) -> JsonObject:
    return {
        "id": mr.id,
        "iid": mr.iid,
        "project_id": project.id,
        "source_project_id": project.id,
        "target_project_id": project.id,
        "title": mr.title,
        "description": mr.description,
        "state": mr.state,
        "created_at": mr.created_at,
        "updated_at": mr.updated_at,
        "source_branch": mr.source_branch,
        "target_branch": mr.target_branch,
        "author": mr.author.json(origin),
        "labels": list(mr.labels),
        "draft": mr.draft,
        "work_in_progress": mr.draft,
        "merge_status": "cannot_be_merged" if mr.has_conflicts else "can_be_merged",
        "detailed_merge_status": detailed_merge_status(project, mr),
        "has_conflicts": mr.has_conflicts,
        "blocking_discussions_resolved": not mr.unresolved(),
        "sha": mr.sha,
        "merge_commit_sha": mr.merge_commit_sha,
        "squash_commit_sha": mr.squash_commit_sha,
        "squash": mr.squash,
        "merge_error": mr.merge_error,
        "user_notes_count": sum(1 for note in mr.notes if not note.system),
        "web_url": f"{origin}/{project.path}/-/merge_requests/{mr.iid}",
        "references": {"short": f"!{mr.iid}", "full": f"{project.path}!{mr.iid}"},
        "diff_refs": {"base_sha": mr.base_sha, "start_sha": mr.base_sha, "head_sha": mr.sha},
    }


def note_json(origin: str, mr: MergeRequest, note: Note) -> JsonObject:
    data: JsonObject = {
        "id": note.id,
        "type": note.type,
        "body": note.body,
        "author": note.author.json(origin),
        "created_at": note.created_at,
        "updated_at": note.created_at,
        "system": note.system,
        "noteable_id": mr.id,
        "noteable_iid": mr.iid,
        "noteable_type": "MergeRequest",
        "resolvable": note.resolvable,
    }
    if note.resolvable:
        data["resolved"] = note.resolved
        data["resolved_by"] = None if note.resolved_by is None else note.resolved_by.json(origin)
    if note.position is not None:
        data["position"] = dict(note.position)
    return data


def discussion_json(origin: str, mr: MergeRequest, discussion: Discussion) -> JsonObject:
    return {
        "id": discussion.id,
        "individual_note": discussion.individual_note,
        "notes": [note_json(origin, mr, note) for note in discussion.notes],
    }


def pipeline_json(origin: str, project: Project, pipeline: Pipeline) -> JsonObject:
    return {
        "id": pipeline.id,
        "iid": pipeline.id,
        "project_id": project.id,
        "sha": pipeline.sha,
        "ref": pipeline.ref,
        "status": pipeline.status,
        "source": pipeline.source,
        "created_at": pipeline.created_at,
        "updated_at": pipeline.updated_at,
        "web_url": f"{origin}/{project.path}/-/pipelines/{pipeline.id}",
    }


def job_json(origin: str, project: Project, pipeline: Pipeline, job: Job) -> JsonObject:
    return {
        "id": job.id,
        "name": job.name,
        "stage": job.stage,
        "status": job.status,
        "allow_failure": job.allow_failure,
        "failure_reason": job.failure_reason,
        "ref": pipeline.ref,
        "retried": job.retried,
        "created_at": job.created_at,
        "started_at": job.created_at if job.status not in ("created", "pending") else None,
        "finished_at": job.finished_at,
        "commit": {"id": pipeline.sha},
        "pipeline": {"id": pipeline.id, "sha": pipeline.sha, "ref": pipeline.ref},
        "web_url": f"{origin}/{project.path}/-/jobs/{job.id}",
    }


class ApiError(Exception):
    """An answer GitLab gives instead of doing what was asked."""

    def __init__(self, status: int, message: Any) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


@dataclass
class World:
    """Everything the fake GitLab knows; every method runs under the server's lock."""

    origin: str = ""
    projects: dict[str, Project] = field(default_factory=dict)
    users_by_token: dict[str, User] = field(default_factory=dict)
    rebase_polls: int = 0
    """Polls a rebase stays in progress for beyond the first (0: done at the first)."""
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def next_id(self) -> int:
        return next(self._ids)

    def user(self, username: str) -> User:
        for user in self.users_by_token.values():
            if user.username == username:
                return user
        return User(self.next_id(), username)

    def project(self, ref: str) -> Project:
        """A project by its numeric id or full path."""
        found = self.projects.get(ref)
        if found is None and ref.isdigit():
            found = next((p for p in self.projects.values() if p.id == int(ref)), None)
        if found is None:
            raise ApiError(404, "404 Project Not Found")
        return found

    def merge_request(self, project: Project, iid: int | str) -> MergeRequest:
        found = project.merge_requests.get(int(iid)) if str(iid).isdigit() else None
        if found is None:
            raise ApiError(404, "404 Not found")
        return found

    def open_merge_request(
        self,
        project: Project,
        author: User,
        *,
        source_branch: str,
        target_branch: str,
        title: str,
        description: str = "",
        labels: list[str] | None = None,
    ) -> MergeRequest:
        """Open one as GitLab does: 409 when one is open for the same branches."""
        for name in (source_branch, target_branch):
            if name not in project.branches:
                kind = "Source" if name == source_branch else "Target"
                raise ApiError(409, [f'{kind} branch "{name}" does not exist'])
        for other in project.merge_requests.values():
            same = (other.source_branch, other.target_branch) == (source_branch, target_branch)
            if same and other.state == "opened":
                raise ApiError(
                    409,
                    [
                        "Another open merge request already exists for this source branch: "
                        f"!{other.iid}"
                    ],
                )
        iid = max(project.merge_requests, default=0) + 1
        mr = MergeRequest(
            id=self.next_id(),
            iid=iid,
            title=title,
            description=description,
            source_branch=source_branch,
            target_branch=target_branch,
            author=author,
            sha=project.branches[source_branch],
            base_sha=project.branches[target_branch],
            labels=list(labels or []),
        )
        project.merge_requests[iid] = mr
        return mr

    def push(self, project: Project, branch: str, sha: str | None = None) -> str:
        """Move ``branch`` (created if new) to ``sha``; its open merge requests follow."""
        sha = sha or new_sha()
        if branch in project.branches and branch not in project.history:
            project.history[branch] = [project.branches[branch]]
        project.history.setdefault(branch, []).append(sha)
        project.branches[branch] = sha
        for mr in project.merge_requests.values():
            if mr.state == "opened" and mr.source_branch == branch:
                mr.sha = sha
                mr.base_sha = project.branches.get(mr.target_branch, mr.base_sha)
                mr.updated_at = now()
        return sha

    def add_note(
        self,
        mr: MergeRequest,
        author: User,
        body: str,
        *,
        resolvable: bool = False,
        position: JsonObject | None = None,
        system: bool = False,
    ) -> Discussion:
        kind = "DiffNote" if position else ("DiscussionNote" if resolvable else None)
        note = Note(
            id=self.next_id(),
            body=body,
            author=author,
            type=kind,
            system=system,
            resolvable=resolvable or position is not None,
            position=position,
        )
        discussion = Discussion(
            id=hashlib.sha1(f"discussion-{note.id}".encode()).hexdigest(),  # noqa: S324
            notes=[note],
            individual_note=kind is None,
        )
        mr.discussions.append(discussion)
        mr.updated_at = now()
        return discussion

    def add_pipeline(self, project: Project, sha: str, ref: str, jobs: list[Job]) -> Pipeline:
        pipeline = Pipeline(id=self.next_id(), sha=sha, ref=ref, jobs=[])
        for job in jobs:
            job.id = self.next_id()
            job.pipeline_id = pipeline.id
            pipeline.jobs.append(job)
        project.pipelines.append(pipeline)
        return pipeline
