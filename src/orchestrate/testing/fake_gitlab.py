"""A fake GitLab (REST API v4) on 127.0.0.1, stateful, for tests that run real python-gitlab.

    with FakeGitLab() as gitlab:
        gitlab.add_project("group/app", branches={"feature": None})
        api = gitlab_lib.Gitlab(gitlab.url, private_token=gitlab.token)
        ... open, review, merge through the real client ...
        assert gitlab.merge_request("group/app", 1)["state"] == "merged"

It keeps projects, branches, merge requests (iid per project), labels, notes and
discussions (with diff positions checked against the merge request's ``diff_refs``),
approvals, reviewer states, pipelines and jobs with traces, and answers with GitLab's
statuses and messages where a client reacts to them: 401 without a known token
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

import contextlib
import json
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from types import TracebackType
from typing import Any, ClassVar, Self
from urllib.parse import parse_qsl, unquote, urlsplit

from orchestrate.testing import _gitlab_api as api
from orchestrate.testing._fake_server import _close_quietly, _Server
from orchestrate.testing._gitlab_state import (
    Job,
    JsonObject,
    MergeRequest,
    Project,
    World,
    discussion_json,
    merge_request_json,
    new_sha,
    note_json,
)

DEFAULT_TOKEN = "glpat-fake-orchestrate"  # noqa: S105 - a fake's token
DEFAULT_USER = "orchestrate-bot"
_API_PREFIX = "/api/v4/"


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


@dataclass
class Failure:
    """Answer the next ``times`` matching requests with ``status`` (0: drop the
    connection) instead of serving them. ``path`` matches a substring of the raw path."""

    status: int
    times: int = 1
    method: str | None = None
    path: str | None = None
    retry_after: float | None = None
    rate_limit_reset_in: float | None = None
    body: str | None = None

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and (
            self.path is None or self.path in path
        )


@dataclass(frozen=True)
class GitLabRequest:
    """A request the fake received and the status it answered (0: dropped)."""

    method: str
    path: str
    query: Mapping[str, str]
    body: Any
    headers: Mapping[str, str] = field(repr=False)
    status: int
    received_at: float


class FakeGitLab:
    """GitLab on 127.0.0.1; ``url`` is what python-gitlab takes, ``token`` its token."""

    def __init__(self, *, token: str = DEFAULT_TOKEN, username: str = DEFAULT_USER) -> None:
        self.token = token
        self.requests: list[GitLabRequest] = []
        self._world = World()
        self._world.users_by_token[token] = self._world.user(username)
        self._failures: list[Failure] = []
        self._lock = threading.RLock()
        self._connections: set[Any] = set()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> Self:
        if self._httpd is None:
            handler = type("Handler", (_Handler,), {"fake": self})
            self._httpd = _Server(("127.0.0.1", 0), handler)
            self._world.origin = self.url
            self._thread = threading.Thread(
                target=self._httpd.serve_forever,
                kwargs={"poll_interval": 0.05},
                name="fake-gitlab",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        with self._lock:
            for connection in list(self._connections):
                _close_quietly(connection)
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    async def __aenter__(self) -> Self:
        return self.start()

    async def __aexit__(
        self,
        _type: type[BaseException] | None,
        _exc: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("The fake GitLab is not running; use it in `with`.")
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

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
            records = [
                Job(
                    0,
                    job.name,
                    job.status,
                    job.stage,
                    job.trace,
                    job.allow_failure,
                    job.failure_reason,
                )
                for job in jobs
            ]
            ref = ref or next((b for b, s in found.branches.items() if s == sha), "main")
            return self._world.add_pipeline(found, sha, ref, records).id

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

    # -- scripted failures -----------------------------------------------------------------

    def fail(
        self,
        status: int,
        *,
        times: int = 1,
        method: str | None = None,
        path: str | None = None,
        retry_after: float | None = None,
        rate_limit_reset_in: float | None = None,
    ) -> None:
        """Answer the next ``times`` matching requests with ``status``: 429 with
        ``Retry-After: retry_after`` or ``RateLimit-Reset`` ``rate_limit_reset_in``
        seconds from now, 502/503/504 as a proxy would."""
        with self._lock:
            self._failures.append(
                Failure(status, times, method, path, retry_after, rate_limit_reset_in)
            )

    def disconnect(
        self, *, times: int = 1, method: str | None = None, path: str | None = None
    ) -> None:
        """Drop the next ``times`` matching requests' connections without answering."""
        self.fail(0, times=times, method=method, path=path)

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

    def calls(self, method: str | None = None, path: str | None = None) -> list[GitLabRequest]:
        """Recorded requests, filtered by method and a substring of the raw path."""
        with self._lock:
            return [
                request
                for request in self.requests
                if (method is None or request.method == method)
                and (path is None or path in request.path)
            ]

    # -- serving ---------------------------------------------------------------------------

    def _merge_request(self, project: str, iid: int) -> MergeRequest:
        return self._world.merge_request(self._world.project(project), iid)

    def serve(
        self, method: str, target: str, headers: Mapping[str, str], raw: bytes
    ) -> api.Reply | None:
        """The answer to one request; None to drop the connection."""
        received_at = time.monotonic()
        split = urlsplit(target)
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        body: Any = None
        with self._lock:
            try:
                body = json.loads(raw) if raw else None
                reply = self._answer(method, split.path, query, headers, body)
            except ValueError:
                reply = api.Reply(400, {"message": "400 Bad request - the body is not JSON"})
            status = 0 if reply is None else reply.status
            self.requests.append(
                GitLabRequest(method, split.path, query, body, dict(headers), status, received_at)
            )
        return reply

    def _answer(
        self, method: str, path: str, query: dict[str, str], headers: Mapping[str, str], body: Any
    ) -> api.Reply | None:
        failure = self._scripted_failure(method, path)
        if failure is not None:
            return None if failure.status == 0 else _failure_reply(failure)
        user = self._world.users_by_token.get(_token(headers))
        if user is None:
            return api.Reply(401, {"message": "401 Unauthorized"})
        if not path.startswith(_API_PREFIX):
            return api.Reply(404, {"message": "404 Not Found"})
        segments = tuple(unquote(part) for part in path[len(_API_PREFIX) :].split("/") if part)
        params: dict[str, Any] = dict(query)
        if isinstance(body, dict):
            params |= body
        return api.handle(self._world, api.Call(method, path, segments, params, user))

    def _scripted_failure(self, method: str, path: str) -> Failure | None:
        for failure in self._failures:
            if failure.times > 0 and failure.matches(method, path):
                failure.times -= 1
                return failure
        return None


def _token(headers: Mapping[str, str]) -> str:
    token = headers.get("private-token", "")
    scheme, _, bearer = headers.get("authorization", "").partition(" ")
    return token or (bearer.strip() if scheme.lower() == "bearer" else "")


def _failure_reply(failure: Failure) -> api.Reply:
    headers: dict[str, str] = {}
    if failure.retry_after is not None:
        seconds = failure.retry_after
        headers["Retry-After"] = str(int(seconds)) if float(seconds).is_integer() else str(seconds)
    if failure.rate_limit_reset_in is not None:
        headers["RateLimit-Reset"] = str(int(time.time() + failure.rate_limit_reset_in))
    if failure.status == 429:
        headers |= {"RateLimit-Limit": "600", "RateLimit-Remaining": "0"}
        return api.Reply(429, "Retry later\n", headers)
    return api.Reply(failure.status, f"{failure.status} GitLab is not responding\n", headers)


class _Handler(BaseHTTPRequestHandler):
    disable_nagle_algorithm = True
    fake: ClassVar[FakeGitLab]
    protocol_version = "HTTP/1.1"
    timeout = 30

    def setup(self) -> None:
        super().setup()
        with self.fake._lock:
            self.fake._connections.add(self.connection)

    def finish(self) -> None:
        with self.fake._lock:
            self.fake._connections.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def _serve(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        reply = self.fake.serve(self.command, self.path, headers, raw)
        if reply is None:
            self.close_connection = True
            _close_quietly(self.connection)
            return
        if isinstance(reply.body, str):
            payload, content_type = reply.body.encode(), "text/plain; charset=utf-8"
        else:
            payload, content_type = json.dumps(reply.body).encode(), "application/json"
        self.send_response(reply.status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(payload)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        """Tests read ``requests`` instead of the access log."""
