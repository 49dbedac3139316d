"""A fake GitLab (REST API v4) on 127.0.0.1, stateful, for tests that run real python-gitlab.

    with FakeGitLab() as gitlab:
        gitlab.add_project("group/app", branches={"feature": None})
        api = gitlab_lib.Gitlab(gitlab.url, private_token=gitlab.token)
        ... open, review, merge through the real client ...
        assert gitlab.merge_request("group/app", 1)["state"] == "merged"

It keeps projects, branches, merge requests (iid per project), labels, notes and
discussions (with diff positions checked against the merge request's ``diff_refs``),
approvals, reviewer states, pipelines and jobs with traces (created through the API with
variables, retried whole or job by job, with a test report: ``_gitlab_ci``), and answers
with GitLab's statuses and messages where a client reacts to them: 401 without a known token
(``PRIVATE-TOKEN`` or ``Authorization: Bearer``); 404 for unknown projects, merge
requests, discussions, jobs; 409 "Another open merge request already exists for this
source branch: !N"; merges refused with 405 (closed, draft, unresolved threads or a
pipeline that must pass, per project flags), 409 (``sha`` is not the head) and 422
(conflicts); 401 on a second approval and 404 on unapproving without an approval, as
GitLab does. A rebase is asynchronous: ``PUT …/rebase`` answers 202 and the merge
request shows ``rebase_in_progress`` until polled (``rebase_polls``); with conflicts it
ends with a ``merge_error``.

Tests move the world with ``push``, ``set_conflicts``, ``add_pipeline``, ``set_job``,
``add_note``, ``set_reviewer_state``, and script failures with ``fail`` (a status such
as 429 with ``Retry-After`` or ``RateLimit-Reset``, or 502) and ``disconnect`` (the
connection dropped without an answer). Every request is recorded in ``requests``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from orchestrate.testing._gitlab_http import (
    DEFAULT_TOKEN,
    DEFAULT_USER,
    Failure,
    GitLabRequest,
    GitLabServer,
)
from orchestrate.testing._gitlab_state import (
    Job,
    JsonObject,
    MergeRequest,
    Project,
    discussion_json,
    merge_request_json,
    new_sha,
    note_json,
    now,
    pipeline_json,
)

__all__ = [
    "DEFAULT_TOKEN",
    "DEFAULT_USER",
    "Failure",
    "FakeGitLab",
    "FakeJob",
    "FakeTestCase",
    "GitLabRequest",
]


@dataclass(frozen=True)
class FakeTestCase:
    """One case of a job's JUnit report, as GitLab's pipeline test report shows it;
    ``status`` is success, failed, skipped or error."""

    name: str
    status: str = "success"
    classname: str = ""
    execution_time: float = 0.01
    system_output: str | None = None
    stack_trace: str | None = None
    file: str | None = None

    def json(self) -> JsonObject:
        return {
            "status": self.status,
            "name": self.name,
            "classname": self.classname,
            "file": self.file,
            "execution_time": self.execution_time,
            "system_output": self.system_output,
            "stack_trace": self.stack_trace,
            "recent_failures": None,
        }


@dataclass(frozen=True)
class FakeJob:
    """A job of a pipeline a test sets: GitLab's ``status`` (success, failed, running,
    pending, canceled, skipped, manual…) and the ``trace`` its log shows."""

    name: str
    status: str = "success"
    stage: str = "test"
    trace: str = ""
    allow_failure: bool = False
    failure_reason: str | None = None
    tests: tuple[FakeTestCase, ...] = ()


class FakeGitLab(GitLabServer):
    """GitLab on 127.0.0.1, stateful; see the module's docstring for what it serves."""

    # -- arranging the world ---------------------------------------------------------------

    def add_user(self, username: str, token: str) -> None:
        """Another person, acting with ``token`` (reviewers, humans commenting)."""
        with self._lock:
            self._world.users_by_token[token] = self._world.user(username)

    def add_project(
        self,
        path: str,
        *,
        default_branch: str = "main",
        branches: Mapping[str, str | None] | None = None,
        visibility: str = "private",
        clone_url: str | None = None,
        merge_method: str = "merge",
        only_allow_merge_if_all_discussions_are_resolved: bool = False,
        only_allow_merge_if_pipeline_succeeds: bool = False,
    ) -> None:
        """A project with its default branch and ``branches`` (name → sha, None: a new one)."""
        with self._lock:
            project = Project(
                id=self._world.next_id(),
                path=path,
                default_branch=default_branch,
                visibility=visibility,
                clone_url=clone_url,
                merge_method=merge_method,
                only_allow_merge_if_all_discussions_are_resolved=(
                    only_allow_merge_if_all_discussions_are_resolved
                ),
                only_allow_merge_if_pipeline_succeeds=only_allow_merge_if_pipeline_succeeds,
            )
            project.branches[default_branch] = new_sha()
            for name, sha in (branches or {}).items():
                project.branches[name] = sha or new_sha()
            self._world.projects[path] = project

    def push(self, project: str, branch: str, sha: str | None = None) -> str:
        """Move (or create) ``branch``; open merge requests from it follow. The new sha."""
        with self._lock:
            return self._world.push(self._world.project(project), branch, sha)

    def branch_sha(self, project: str, branch: str) -> str | None:
        with self._lock:
            return self._world.project(project).branches.get(branch)

    def open_merge_request(
        self,
        project: str,
        source_branch: str,
        *,
        target_branch: str | None = None,
        title: str = "A change",
        author: str | None = None,
        labels: list[str] | None = None,
    ) -> int:
        """A merge request opened by someone else (``author``); its iid."""
        with self._lock:
            found = self._world.project(project)
            mr = self._world.open_merge_request(
                found,
                self._world.user(author or DEFAULT_USER),
                source_branch=source_branch,
                target_branch=target_branch or found.default_branch,
                title=title,
                labels=labels,
            )
            return mr.iid

    def set_conflicts(self, project: str, iid: int, has_conflicts: bool = True) -> None:
        with self._lock:
            self._merge_request(project, iid).has_conflicts = has_conflicts

    def set_rebase_polls(self, polls: int) -> None:
        """How many status polls a rebase stays in progress for beyond the first."""
        with self._lock:
            self._world.rebase_polls = polls

    def add_note(
        self,
        project: str,
        iid: int,
        body: str,
        *,
        author: str,
        resolvable: bool = False,
        path: str | None = None,
        line: int | None = None,
    ) -> str:
        """A comment by ``author``; with ``path`` and ``line``, a thread on the diff at
        the current head. The discussion's id."""
        with self._lock:
            mr = self._merge_request(project, iid)
            position = None
            if path is not None:
                position = {
                    "position_type": "text",
                    "base_sha": mr.base_sha,
                    "start_sha": mr.base_sha,
                    "head_sha": mr.sha,
                    "old_path": path,
                    "new_path": path,
                    "new_line": line,
                }
            user = self._world.user(author)
            discussion = self._world.add_note(
                mr, user, body, resolvable=resolvable, position=position
            )
            return discussion.id

    def set_reviewer_state(self, project: str, iid: int, username: str, state: str) -> None:
        """A reviewer's state as GitLab's review UI sets it (``requested_changes``…)."""
        with self._lock:
            user = self._world.user(username)
            self._merge_request(project, iid).reviewer_states[username] = (user, state)

    def add_pipeline(
        self, project: str, sha: str, jobs: list[FakeJob], *, ref: str | None = None
    ) -> int:
        """A pipeline for ``sha`` with ``jobs`` (the newest pipeline of a sha counts);
        its id. Job ids: ``jobs_of``."""
        with self._lock:
            found = self._world.project(project)
            records = [_record(job) for job in jobs]
            ref = ref or next((b for b, s in found.branches.items() if s == sha), "main")
            return self._world.add_pipeline(found, sha, ref, records).id

    def set_ci_jobs(self, project: str, jobs: list[FakeJob]) -> None:
        """The jobs every pipeline created through the API gets (pending at first)."""
        with self._lock:
            self._world.project(project).ci_jobs = [_record(job) for job in jobs]

    def pipelines(self, project: str) -> list[JsonObject]:
        """Every pipeline of the project as the API shows it, oldest first, with the
        variables it was created with."""
        with self._lock:
            found = self._world.project(project)
            return [
                pipeline_json(self.url, found, p) | {"variables": dict(p.variables)}
                for p in found.pipelines
            ]

    def jobs_of(self, project: str, pipeline_id: int) -> dict[str, int]:
        """The ids of a pipeline's jobs, by name (the latest attempt of each)."""
        with self._lock:
            pipeline = next(
                p for p in self._world.project(project).pipelines if p.id == pipeline_id
            )
            return {job.name: job.id for job in pipeline.jobs if not job.retried}

    def set_job(
        self, project: str, job_id: int, *, status: str | None = None, trace: str | None = None
    ) -> None:
        with self._lock:
            job = self._world.project(project).find_job(job_id)
            if job is None:
                raise KeyError(f"No job {job_id} in {project}")
            job.status = job.status if status is None else status
            job.trace = job.trace if trace is None else trace
            if job.status in ("success", "failed", "canceled", "skipped"):
                job.finished_at = job.finished_at or now()

    # -- inspecting ------------------------------------------------------------------------

    def merge_request(self, project: str, iid: int) -> JsonObject:
        """The merge request as the API shows it now (plus ``merge_params`` of its merge)."""
        with self._lock:
            found = self._world.project(project)
            mr = self._world.merge_request(found, iid)
            return merge_request_json(self.url, found, mr) | {"merge_params": mr.merge_params}

    def merge_requests(self, project: str) -> list[JsonObject]:
        with self._lock:
            found = self._world.project(project)
            return [
                merge_request_json(self.url, found, mr)
                for _, mr in sorted(found.merge_requests.items())
            ]

    def notes(self, project: str, iid: int, *, system: bool = False) -> list[JsonObject]:
        """Every note, oldest first; system notes only when ``system``."""
        with self._lock:
            mr = self._merge_request(project, iid)
            return [note_json(self.url, mr, note) for note in mr.notes if system or not note.system]

    def discussions(self, project: str, iid: int) -> list[JsonObject]:
        with self._lock:
            mr = self._merge_request(project, iid)
            return [discussion_json(self.url, mr, d) for d in mr.discussions]

    def approved_by(self, project: str, iid: int) -> list[str]:
        with self._lock:
            return [user.username for user in self._merge_request(project, iid).approved_by]

    def _merge_request(self, project: str, iid: int) -> MergeRequest:
        return self._world.merge_request(self._world.project(project), iid)


def _record(job: FakeJob) -> Job:
    return Job(
        0,
        job.name,
        job.status,
        job.stage,
        job.trace,
        job.allow_failure,
        job.failure_reason,
        test_cases=[case.json() for case in job.tests],
    )
