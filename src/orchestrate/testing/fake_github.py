"""A fake GitHub on 127.0.0.1 for tests that run the real githubkit client.

    with FakeGitHub() as github:
        github.add_repository("octo/app")
        github.push_branch("octo/app", "feature")
        client = GitHubClient(TokenCredentials(github.token, "test"), api_url=github.api_url)
        ...
        github.add_review("octo/app", 1, user="alice", verdict="CHANGES_REQUESTED",
                          body="Please fix", comments=[("src/app.py", 3, "Off by one")])
        github.set_check("octo/app", sha, "test", conclusion="failure", log="FAILED test_x")
        github.fail_next(secondary_rate_limit(retry_after=1), bad_gateway())

It keeps state (repositories, branches, pull requests, labels, comments, reviews and
their threads, check runs, commit statuses, job logs) and speaks GitHub's REST shapes
(``_github_rest``) and a validated slice of its GraphQL schema (``_github_graphql``).
Every request needs a known token (``Authorization: token …`` or ``Bearer …``), or, for
a GitHub App's routes, a JWT signed with the app's key; rate-limit headers come with
every answer. A repository may be backed by a local bare git repository
(``git_dir=``): heads are then read from it and merges are real git merges.

Scripted failures (``fail_next``) answer the next matching requests instead of the
route: a secondary rate limit (403/429 with ``retry-after``), a 502; and
``exhaust_rate_limit`` refuses everything with GitHub's primary-limit 403 until reset.
Webhooks (``add_webhook``) are delivered, signed, after each change (``_github_hooks``).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit

from orchestrate.testing._github_actions import advance, find_workflow, start_run
from orchestrate.testing._github_graphql import FakeGraphQL
from orchestrate.testing._github_hooks import Delivery, HookSender, Webhook
from orchestrate.testing._github_http import emit, emit_push, render_check_run, render_issue
from orchestrate.testing._github_limits import (
    Failure,
    RateLimits,
    bad_gateway,
    secondary_rate_limit,
)
from orchestrate.testing._github_logs import job_log, run_logs
from orchestrate.testing._github_rest import Answer, RestRequest, add_review, answer_rest, error
from orchestrate.testing._github_state import (
    FakeApp,
    FakeCheckRun,
    FakeIssue,
    FakePullRequest,
    FakeRepository,
    FakeSarifUpload,
    FakeStatus,
    FakeThread,
    FakeUser,
    FakeWorkflow,
    FakeWorkflowRun,
    GitHubState,
    random_sha,
)
from orchestrate.testing._http_server import InBackground, ThreadedServer

DEFAULT_TOKEN = "ghp_fake_token"  # noqa: S105 - the fake's own test credential


@dataclass
class Hold:
    """The next request matching ``method`` and ``path_contains`` is carried out, then its
    answer held back until ``release`` is set: what a caller killed after the forge acted,
    before it heard back, leaves behind. ``reached`` is set once it is being held."""

    method: str
    path_contains: str
    reached: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)

    def matches(self, method: str, path: str) -> bool:
        return method == self.method and self.path_contains in path


@dataclass(frozen=True)
class LogDownload:
    """A request the log host (the target of a log's 302) received, headers included."""

    path: str
    headers: dict[str, str]
    status: int


@dataclass(frozen=True)
class RecordedCall:
    method: str
    path: str
    status: int
    login: str | None
    body: Any
    received_at: float


class FakeGitHub(InBackground):
    """A stateful GitHub API on 127.0.0.1; ``api_url`` goes to ``ORCHESTRATE_GITHUB_API_URL``."""

    def __init__(self, *, token: str = DEFAULT_TOKEN, login: str = "orchestrate-bot") -> None:
        self.token = token
        self.state = GitHubState()
        self._default_user = self.state.user(login)
        self.state.tokens[token] = self._default_user
        self.graphql = FakeGraphQL(self.state)
        self.requests: list[RecordedCall] = []
        self.limits = RateLimits()
        self.hooks = HookSender()
        self.lock = threading.RLock()
        self._holds: list[Hold] = []
        self._server = ThreadedServer(self.answer, name="fake-github")
        self.log_downloads: list[LogDownload] = []
        self._log_server = ThreadedServer(self._answer_log_host, name="fake-github-logs")

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> Self:
        if not self._server.running:
            self._server.start()
            self._log_server.start()
            self.state.origin = self.origin
            self.state.log_origin = self._log_server.origin
        return self

    def stop(self) -> None:
        if self._server.running:
            self.hooks.stop()
            self._server.stop()
            self._log_server.stop()

    @property
    def origin(self) -> str:
        return self._server.origin

    @property
    def api_url(self) -> str:
        return self.origin

    @property
    def log_origin(self) -> str:
        """The second server job and run logs are redirected to (another port: another
        origin, so no client may send it the API token)."""
        return self._log_server.origin

    # -- arranging state -----------------------------------------------------------------------

    def add_repository(
        self,
        full_name: str,
        *,
        default_branch: str = "main",
        private: bool = False,
        git_dir: Path | None = None,
    ) -> None:
        """A repository; with ``git_dir`` (a bare repository) its branches are real."""
        with self._changing():
            self.state.add_repository(
                full_name, default_branch=default_branch, private=private, git_dir=git_dir
            )

    def add_token(self, token: str, login: str, *, association: str = "MEMBER") -> None:
        with self._changing():
            self.state.tokens[token] = self.state.user(login, association)

    def add_user(self, login: str, *, association: str) -> None:
        """Set how ``login`` relates to the repositories (``OWNER``, ``NONE``…)."""
        with self._changing():
            self.state.user(login, association)

    def push_branch(self, repository: str, branch: str, sha: str | None = None) -> str:
        """Move (or create) a branch of a repository without git; returns its new head."""
        with self._changing():
            repo = self._repository(repository)
            if repo.git is not None:
                raise ValueError(f"{repository} is backed by git: push to {repo.git.git_dir}")
            before = repo.branches.get(branch, "0" * 40)
            repo.branches[branch] = sha or random_sha()
            emit_push(self.state, repo, branch, before, self._default_user)
            return repo.branches[branch]

    def refuse_own_reviews(self, refuses: bool = True) -> None:
        """Answer 422 to approving or requesting changes on one's own pull request, as
        GitHub does (off by default: most tests review with the opener's token)."""
        with self._changing():
            self.state.refuses_own_reviews = refuses

    def set_mergeable(self, repository: str, number: int, mergeable: bool | None) -> None:
        """Fix what GitHub says of conflicts (None: still computing) instead of computing it."""
        with self._changing():
            pull = self._pull(repository, number)
            pull.mergeable, pull.mergeable_override = mergeable, True

    def add_review(
        self,
        repository: str,
        number: int,
        *,
        user: str,
        verdict: str = "CHANGES_REQUESTED",
        body: str = "",
        comments: Iterable[tuple[str, int, str]] = (),
        association: str | None = None,
    ) -> int:
        """A review by ``user``; each ``(path, line, body)`` starts a thread. Returns its id."""
        with self._changing():
            repo = self._repository(repository)
            author = self.state.user(user, association)
            review = add_review(
                self.state,
                repo,
                self._pull(repository, number),
                user=author,
                verdict=verdict,
                body=body,
                comments=list(comments),
                commit_id=None,
            )
            return review.id

    def set_check(
        self,
        repository: str,
        sha: str,
        name: str,
        *,
        status: str = "completed",
        conclusion: str | None = "success",
        log: str | None = None,
        title: str = "",
        app: str = "github-actions",
    ) -> int:
        """A new check run (a re-run if the name exists) with ``log`` as job log; returns its id."""
        with self._changing():
            repo = self._repository(repository)
            run = FakeCheckRun(
                self.state.next_id(),
                name,
                sha,
                status,
                conclusion if status == "completed" else None,
                title=title,
                app_slug=app,
            )
            repo.check_runs.append(run)
            if log is not None:
                repo.job_logs[run.id] = log
            self._emit_check_run(repo, run)
            return run.id

    def _emit_check_run(self, repo: FakeRepository, run: FakeCheckRun) -> None:
        rendered = render_check_run(run, self.origin, repo)
        pulls: list[dict[str, Any]] = [
            {
                "number": p.number,
                "head": {"ref": p.head, "sha": p.head_sha},
                "base": {"ref": p.base},
            }
            for p in repo.pulls.values()
            if p.state == "open" and repo.head_of(p) == run.head_sha
        ]
        branch = next((p.head for p in repo.pulls.values() if p.head_sha == run.head_sha), None)
        rendered["pull_requests"] = pulls
        rendered["check_suite"] = {"head_branch": branch, "head_sha": run.head_sha}
        action = "completed" if run.status == "completed" else "created"
        emit(self.state, "check_run", repo, self._default_user, action, check_run=rendered)

    def set_status(
        self,
        repository: str,
        sha: str,
        context: str,
        state: str,
        *,
        description: str = "",
        target_url: str | None = None,
    ) -> None:
        with self._changing():
            repo = self._repository(repository)
            repo.statuses.append(
                FakeStatus(self.state.next_id(), context, sha, state, description, target_url)
            )
            emit(
                self.state,
                "status",
                repo,
                self._default_user,
                None,
                sha=sha,
                context=context,
                state=state,
                description=description,
                target_url=target_url,
            )

    def add_app(self, app_id: str, public_key_pem: str, installations: dict[str, int]) -> None:
        """A GitHub App whose JWTs verify with ``public_key_pem``, installed on these owners."""
        with self._changing():
            owners = {owner.lower(): installation for owner, installation in installations.items()}
            self.state.apps[app_id] = FakeApp(app_id, public_key_pem, owners)

    def add_webhook(
        self, url: str, *, secret: str | None = None, events: Iterable[str] | None = None
    ) -> None:
        """Deliver events (all, or those named) to ``url``, signed when ``secret`` is given."""
        with self._changing():
            wanted = frozenset(events) if events is not None else None
            self.hooks.hooks.append(Webhook(url, secret, wanted))

    def deliveries(self, *, timeout: float = 10.0) -> list[Delivery]:
        """Every webhook delivery made, once those queued so far are made."""
        return self.hooks.wait(timeout)

    def pushed(
        self, repository: str, branch: str, *, before: str = "0" * 40, user: str | None = None
    ) -> None:
        """Tell the fake a branch of a git-backed repository was pushed (its webhooks)."""
        with self._changing():
            repo = self._repository(repository)
            sender = self.state.user(user) if user else self._default_user
            emit_push(self.state, repo, branch, before, sender)

    def open_issue(
        self,
        repository: str,
        title: str,
        body: str = "",
        *,
        user: str,
        labels: Iterable[str] = (),
        association: str | None = None,
    ) -> int:
        """An issue opened by ``user`` (an ``issues opened`` webhook); returns its number."""
        with self._changing():
            repo = self._repository(repository)
            author = self.state.user(user, association)
            issue = FakeIssue(
                repo.next_number, self.state.next_id(), title, body, author, list(labels)
            )
            repo.next_number += 1
            repo.issues[issue.number] = issue
            emit(
                self.state,
                "issues",
                repo,
                author,
                "opened",
                issue=render_issue(repo, issue, self.origin),
            )
            return issue.number

    # -- GitHub Actions ------------------------------------------------------------------------

    def add_workflow(
        self,
        repository: str,
        file: str,
        *,
        name: str | None = None,
        jobs: Iterable[tuple[str, str, str]] = (("build", "success", "ok\n"),),
    ) -> int:
        """A workflow ``.github/workflows/{file}``; each run of it gets ``jobs``, given as
        (name, the conclusion it will end with, its log). Returns the workflow's id."""
        with self._changing():
            repo = self._repository(repository)
            workflow = FakeWorkflow(
                self.state.next_id(), f".github/workflows/{file}", name or file, list(jobs)
            )
            repo.workflows[workflow.path] = workflow
            return workflow.id

    def add_workflow_run(
        self,
        repository: str,
        workflow: str,
        *,
        branch: str | None = None,
        event: str = "push",
        status: str = "queued",
        conclusion: str | None = None,
    ) -> int:
        """A run of ``workflow`` (its file name) on ``branch`` (default: the default
        branch), moved to ``status``; returns its id."""
        with self._changing():
            repo = self._repository(repository)
            found = find_workflow(repo, workflow)
            if found is None:
                raise KeyError(f"{repository} has no workflow {workflow!r}; add_workflow first")
            run = start_run(self.state, repo, found, branch or repo.default_branch, event=event)
            if status != "queued":
                advance(run, status, conclusion)
            return run.id

    def advance_run(
        self, repository: str, run_id: int, status: str, conclusion: str | None = None
    ) -> None:
        """Move a run's current attempt on: ``in_progress``, or ``completed`` (with
        ``conclusion``, else the worst its jobs were planned to end with)."""
        with self._changing():
            advance(self.workflow_run(repository, run_id), status, conclusion)

    def workflow_run(self, repository: str, run_id: int) -> FakeWorkflowRun:
        with self.lock:
            run = self._repository(repository).workflow_runs.get(run_id)
            if run is None:
                raise KeyError(f"{repository} has no workflow run {run_id}")
            return run

    def workflow_runs(self, repository: str) -> list[FakeWorkflowRun]:
        with self.lock:
            return sorted(self._repository(repository).workflow_runs.values(), key=lambda r: r.id)

    def sarif_uploads(self, repository: str) -> list[FakeSarifUpload]:
        """The SARIF logs code scanning accepted for ``repository``, decoded, in order."""
        with self.lock:
            return list(self._repository(repository).sarif_uploads.values())

    def disable_code_scanning(self, repository: str) -> None:
        """Refuse SARIF uploads to ``repository`` (403), as when Advanced Security is off."""
        with self.lock:
            self._repository(repository).code_scanning_enabled = False

    @contextmanager
    def _changing(self) -> Iterator[None]:
        """Hold the lock for a change; send its webhook events once the lock is released."""
        with self.lock:
            yield
            events = self.state.take_outbox()
        for event, payload in events:
            self.hooks.send(event, payload)

    # -- scripted failures ---------------------------------------------------------------------

    def fail_next(self, *failures: Failure) -> None:
        """Answer the next matching requests with these failures, in order."""
        with self._changing():
            self.limits.failures.extend(failures)

    def hold_next(self, method: str, path_contains: str = "") -> Hold:
        """Carry out the next matching request but hold its answer back until the returned
        hold's ``release`` is set (see ``Hold``)."""
        hold = Hold(method, path_contains)
        with self.lock:
            self._holds.append(hold)
        return hold

    def exhaust_rate_limit(self, reset_in: float = 1.0) -> None:
        """Refuse every request with the primary limit's 403 for ``reset_in`` seconds."""
        with self._changing():
            self.limits.exhaust(reset_in)

    # -- reading state -------------------------------------------------------------------------

    def pull_requests(self, repository: str) -> list[FakePullRequest]:
        with self._changing():
            repo = self._repository(repository)
            for pull in repo.pulls.values():
                repo.head_of(pull)
            return list(repo.pulls.values())

    def pull_request(self, repository: str, number: int) -> FakePullRequest:
        with self._changing():
            return self._pull(repository, number)

    def threads(self, repository: str, number: int) -> list[FakeThread]:
        with self._changing():
            return list(self._pull(repository, number).threads)

    def branch(self, repository: str, name: str) -> str | None:
        with self._changing():
            return self._repository(repository).head(name)

    def calls(self, method: str | None = None, path_contains: str = "") -> list[RecordedCall]:
        with self._changing():
            return [
                call
                for call in self.requests
                if (method is None or call.method == method) and path_contains in call.path
            ]

    def _repository(self, full_name: str) -> FakeRepository:
        repository = self.state.repository(full_name)
        if repository is None:
            raise KeyError(f"The fake GitHub has no repository {full_name!r}; add_repository first")
        return repository

    def _pull(self, repository: str, number: int) -> FakePullRequest:
        pull = self._repository(repository).pulls.get(number)
        if pull is None:
            raise KeyError(f"{repository} has no pull request #{number}")
        return pull

    # -- answering -----------------------------------------------------------------------------

    def answer(self, method: str, target: str, headers: dict[str, str], raw: bytes) -> Answer:
        parts = urlsplit(target)
        path, query = parts.path, dict(parse_qsl(parts.query))
        with self._changing():
            body: Any = None
            user: FakeUser | None = None
            try:
                body = json.loads(raw) if raw else None
                answer, user = self._answer(method, path, query, headers, body)
            except ValueError:
                answer = error(400, "Problems parsing JSON")
            answer.headers.update(self.limits.headers())
            self.requests.append(
                RecordedCall(
                    method,
                    path,
                    answer.status,
                    user.login if user else None,
                    body,
                    time.monotonic(),
                )
            )
            hold = next((h for h in self._holds if h.matches(method, path)), None)
            if hold is not None:
                self._holds.remove(hold)
        if hold is not None:
            hold.reached.set()
            hold.release.wait(timeout=300)
        return answer

    def _answer(
        self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: Any
    ) -> tuple[Answer, FakeUser | None]:
        if path.startswith("/_fake/job-logs/"):
            return job_log(self.state, path, query), None
        if path.startswith("/app/") or path == "/app" or path.endswith("/installation"):
            from orchestrate.testing._github_apps import answer_app  # PyJWT only when used

            return answer_app(self.state, method, path, headers, body, self.origin), None
        user = self.state.tokens.get(_credential(headers))
        if user is None:
            return error(401, "Bad credentials"), None
        is_graphql = path in ("/graphql", "/api/graphql")
        limited = self.limits.refusal(method, path)
        if limited is not None and is_graphql and self.limits.resets_at is not None:
            # GraphQL reports an exhausted primary limit in a 200, as a typed error.
            message = "API rate limit exceeded for user ID 1."
            return Answer(200, {"errors": [{"type": "RATE_LIMITED", "message": message}]}), user
        if limited is not None:
            return limited, user
        if method == "GET" and path == "/user":
            return Answer(200, {"login": user.login, "id": user.id, "type": "User"}), user
        if is_graphql:
            if method != "POST":
                return error(404, "Not Found"), user
            return Answer(200, self.graphql.execute(body, user)), user
        request = RestRequest(method, path, query, body, user, self.origin)
        return answer_rest(self.state, request), user

    def _answer_log_host(
        self, method: str, target: str, headers: dict[str, str], raw: bytes
    ) -> Answer:
        """The host logs are redirected to: records each download with its headers."""
        parts = urlsplit(target)
        with self.lock:
            if method != "GET":
                answer = error(405, "Method Not Allowed")
            elif parts.path.startswith("/_fake/run-logs/"):
                answer = run_logs(self.state, parts.path, dict(parse_qsl(parts.query)))
            elif parts.path.startswith("/_fake/job-logs/"):
                answer = job_log(self.state, parts.path, dict(parse_qsl(parts.query)))
            else:
                answer = error(404, "Not Found")
            self.log_downloads.append(LogDownload(parts.path, dict(headers), answer.status))
        return answer


def _credential(headers: dict[str, str]) -> str:
    value = headers.get("authorization", "")
    scheme, _, credential = value.partition(" ")
    return credential.strip() if scheme.lower() in ("token", "bearer") else ""


__all__ = [
    "DEFAULT_TOKEN",
    "Delivery",
    "Failure",
    "FakeGitHub",
    "Hold",
    "LogDownload",
    "RecordedCall",
    "bad_gateway",
    "secondary_rate_limit",
]
