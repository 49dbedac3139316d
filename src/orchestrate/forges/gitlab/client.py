"""``ForgeClient`` for GitLab, with python-gitlab (API v4).

Pull request = merge request (``number`` is its ``iid``); repository = the project's
full path (``group/subgroup/name``). python-gitlab is synchronous (requests): each
operation runs whole in a worker thread (``anyio.to_thread``), so the event loop never
waits on GitLab, and the HTTP calls it made are reported to the observer, in order,
when the thread is done — also when it failed. Retries, rate limits and the record of
each call live in ``_transport``; reading GitLab's JSON in ``_convert``; the review
convention in ``_reviews`` (see docs/forges-gitlab.md).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import anyio
import gitlab
import requests
import structlog
from gitlab.exceptions import GitlabError
from gitlab.v4.objects import Project, ProjectMergeRequest

from orchestrate.core.errors import OrchestrateError, ValidationFailed
from orchestrate.forges.client import (
    CallObserver,
    Check,
    Comment,
    ForgeCall,
    LineComment,
    MergeMethod,
    MergeResult,
    NewPullRequest,
    PullRequestInfo,
    PullRequestState,
    RepositoryInfo,
    Review,
    ReviewThread,
    ReviewVerdict,
    ThreadComment,
)
from orchestrate.forges.gitlab import _convert as convert
from orchestrate.forges.gitlab import _merging
from orchestrate.forges.gitlab._errors import Operation, translate
from orchestrate.forges.gitlab._reviewing import Reviewing
from orchestrate.forges.gitlab._reviews import read_marker
from orchestrate.forges.gitlab._transport import FORGE, ObservedAdapter, RateLimited

log = structlog.get_logger(__name__)
T = TypeVar("T")
_PATH_SEGMENT = re.compile(r"(?!\.{1,2}\Z)[\w.-]+")

_LIST_STATES = {
    None: "all",
    PullRequestState.OPEN: "opened",
    PullRequestState.CLOSED: "closed",
    PullRequestState.MERGED: "merged",
}


class GitLabClient:
    """One GitLab instance and one token; safe to share between tasks."""

    def __init__(
        self,
        api: gitlab.Gitlab,
        adapter: ObservedAdapter,
        observer: CallObserver,
        *,
        rebase_poll_seconds: float = 1.0,
        rebase_timeout_seconds: float = 120.0,
        max_log_bytes: int = 4 * 1024 * 1024,
    ) -> None:
        self._api = api
        self._adapter = adapter
        self._observer = observer
        self._web_url = api.url
        self._rebase_poll = rebase_poll_seconds
        self._rebase_timeout = rebase_timeout_seconds
        self._max_log_bytes = max_log_bytes
        self._reviewing = Reviewing(api)

    @property
    def forge(self) -> str:
        return FORGE

    async def aclose(self) -> None:
        """Close the HTTP session's pooled connections."""
        await anyio.to_thread.run_sync(self._api.session.close)

    async def __aenter__(self) -> GitLabClient:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    async def whoami(self) -> str:
        return await self._run(self._reviewing.current_username, Operation("user", "current"))

    # -- repositories and merge requests ---------------------------------------------------

    async def get_repository(self, repository: str) -> RepositoryInfo:
        def work() -> RepositoryInfo:
            _check_path(repository)
            return convert.repository_info(self._api.projects.get(repository).attributes)

        return await self._run(work, Operation("project", repository))

    async def open_pull_request(self, new: NewPullRequest) -> PullRequestInfo:
        def work() -> PullRequestInfo:
            project = self._project(new.repository)
            title = new.title
            if new.draft and not convert.is_draft({"title": title}):
                title = convert.DRAFT_TITLE_PREFIX + title
            data: dict[str, Any] = {
                "source_branch": new.head_branch,
                "target_branch": new.base_branch,
                "title": title,
                "description": new.body,
            }
            if new.labels:
                data["labels"] = ",".join(new.labels)
            try:
                created = project.mergerequests.create(data).attributes
            except GitlabError as error:
                # 409 "Another open merge request already exists for this source branch"
                # — but also "Source branch does not exist": look before trusting it.
                existing = self._open_between(project, new.head_branch, new.base_branch)
                if error.response_code != 409 or existing is None:
                    raise
                return convert.pull_request_info(new.repository, existing)
            return convert.pull_request_info(new.repository, created)

        return await self._run(
            work, Operation("merge request from", f"{new.repository}:{new.head_branch}")
        )

    async def get_pull_request(self, repository: str, number: int) -> PullRequestInfo:
        def work() -> PullRequestInfo:
            data = self._project(repository).mergerequests.get(number).attributes
            return convert.pull_request_info(repository, data)

        return await self._run(work, _merge_request(repository, number))

    async def list_pull_requests(
        self,
        repository: str,
        *,
        state: PullRequestState | None = PullRequestState.OPEN,
        head_branch: str | None = None,
    ) -> list[PullRequestInfo]:
        def work() -> list[PullRequestInfo]:
            query: dict[str, Any] = {"state": _LIST_STATES[state]}
            if head_branch is not None:
                query["source_branch"] = head_branch
            found = self._project(repository).mergerequests.list(get_all=True, **query)
            return [convert.pull_request_info(repository, mr.attributes) for mr in found]

        return await self._run(work, Operation("merge requests of", repository))

    async def add_labels(self, repository: str, number: int, labels: Sequence[str]) -> None:
        if not labels:
            return

        def work() -> None:
            update = {"add_labels": ",".join(labels)}
            self._project(repository).mergerequests.update(number, update)

        await self._run(work, _merge_request(repository, number))

    async def close_pull_request(self, repository: str, number: int) -> PullRequestInfo:
        def work() -> PullRequestInfo:
            data = self._project(repository).mergerequests.update(number, {"state_event": "close"})
            return convert.pull_request_info(repository, data)

        return await self._run(work, _merge_request(repository, number))

    # -- comments, reviews, threads --------------------------------------------------------

    async def list_comments(self, repository: str, number: int) -> list[Comment]:
        def work() -> list[Comment]:
            notes = self._merge_request(repository, number).notes.list(
                get_all=True, sort="asc", order_by="created_at"
            )
            url = self._merge_request_url(repository, number)
            return [
                convert.comment(note.attributes, url)
                for note in notes
                if convert.is_conversation_note(note.attributes)
                and read_marker(convert.text(note.attributes, "body")) is None  # a review
            ]

        return await self._run(work, _merge_request(repository, number))

    async def comment(self, repository: str, number: int, body: str) -> Comment:
        def work() -> Comment:
            note = self._merge_request(repository, number).notes.create({"body": body})
            return convert.comment(note.attributes, self._merge_request_url(repository, number))

        return await self._run(work, _merge_request(repository, number))

    async def list_reviews(self, repository: str, number: int) -> list[Review]:
        """Marked notes (oldest first), then approvals, then reviewers whose GitLab
        state is ``requested_changes`` (set in GitLab's own review UI)."""

        def work() -> list[Review]:
            merge_request = self._merge_request(repository, number)
            return self._reviewing.read(merge_request, self._merge_request_url(repository, number))

        return await self._run(work, _merge_request(repository, number))

    async def submit_review(
        self,
        repository: str,
        number: int,
        *,
        verdict: ReviewVerdict,
        body: str,
        comments: Sequence[LineComment] = (),
        commit_sha: str | None = None,
    ) -> Review:
        """Line comments become discussions on the diff; the verdict follows the
        convention of ``_reviews``. Refused (``Conflict``) when ``commit_sha`` is no
        longer the head: the lines reviewed may have moved."""
        if verdict is ReviewVerdict.DISMISSED:
            raise ValidationFailed("A review is submitted approved, changes_requested or commented")

        def work() -> Review:
            return self._reviewing.submit(
                self._project(repository).mergerequests.get(number),
                self._merge_request_url(repository, number),
                verdict=verdict,
                body=body,
                comments=comments,
                commit_sha=commit_sha,
            )

        return await self._run(work, _merge_request(repository, number))

    async def list_review_threads(self, repository: str, number: int) -> list[ReviewThread]:
        def work() -> list[ReviewThread]:
            merge_request = self._project(repository).mergerequests.get(number)
            head = convert.head_sha(merge_request.attributes)
            threads = (
                convert.review_thread(discussion.attributes, head)
                for discussion in merge_request.discussions.list(get_all=True)
            )
            return [thread for thread in threads if thread is not None]

        return await self._run(work, _merge_request(repository, number))

    async def reply_to_thread(
        self, repository: str, number: int, thread_id: str, body: str
    ) -> ThreadComment:
        def work() -> ThreadComment:
            discussion = self._merge_request(repository, number).discussions.get(
                thread_id, lazy=True
            )
            return convert.thread_comment(discussion.notes.create({"body": body}).attributes)

        return await self._run(work, Operation("thread", f"{repository}!{number} {thread_id}"))

    async def resolve_thread(self, repository: str, number: int, thread_id: str) -> None:
        def work() -> None:
            discussions = self._merge_request(repository, number).discussions
            discussions.update(thread_id, {"resolved": True})

        await self._run(work, Operation("thread", f"{repository}!{number} {thread_id}"))

    # -- checks ----------------------------------------------------------------------------

    async def list_checks(self, repository: str, sha: str) -> list[Check]:
        """The jobs of the latest pipeline for ``sha`` (none: no checks yet)."""

        def work() -> list[Check]:
            project = self._project(repository)
            pipelines = project.pipelines.list(
                iterator=True, sha=sha, order_by="id", sort="desc", per_page=1
            )
            latest = next(iter(pipelines), None)
            pipeline_id = None if latest is None else convert.integer(latest.attributes, "id")
            if pipeline_id is None:
                return []
            jobs = project.pipelines.get(pipeline_id, lazy=True).jobs.list(get_all=True)
            return convert.checks(job.attributes for job in jobs)

        return await self._run(work, Operation("pipelines of", f"{repository}@{sha[:12]}"))

    async def check_log(self, repository: str, job_id: str) -> str:
        """The job's trace; past ``max_log_bytes`` only its end, where failures show."""
        if not job_id.isdigit():
            raise ValidationFailed(f"GitLab job ids are numbers, not {job_id!r}")

        def work() -> str:
            tail = _Tail(self._max_log_bytes)
            job = self._project(repository).jobs.get(int(job_id), lazy=True)
            job.trace(streamed=True, action=tail.add, chunk_size=64 * 1024)
            return tail.text()

        return await self._run(work, Operation("job", f"{repository} #{job_id}"))

    # -- branch update and merge -----------------------------------------------------------

    async def commits_behind_base(self, repository: str, number: int) -> int:
        """GitLab's ``diverged_commits_count``: commits of the target branch the source
        branch lacks."""

        def work() -> int:
            data = (
                self._project(repository)
                .mergerequests.get(number, include_diverged_commits_count=True)
                .attributes
            )
            count = convert.integer(data, "diverged_commits_count")
            return count if count is not None and count > 0 else 0

        return await self._run(work, _merge_request(repository, number))

    async def update_branch(self, repository: str, number: int, *, expected_head_sha: str) -> None:
        """GitLab's rebase, then wait until it is done (``rebase_in_progress``)."""

        def work() -> None:
            _merging.rebase(
                self._project(repository),
                repository,
                number,
                expected_head_sha=expected_head_sha,
                poll_seconds=self._rebase_poll,
                timeout_seconds=self._rebase_timeout,
            )

        await self._run(work, _merge_request(repository, number))

    async def merge(
        self,
        repository: str,
        number: int,
        *,
        method: MergeMethod,
        expected_head_sha: str,
        commit_title: str | None = None,
    ) -> MergeResult:
        """``squash`` squashes; ``merge`` and ``rebase`` both merge the way the project
        is set up to (merge commit, semi-linear or fast-forward): GitLab chooses that
        per project, not per merge request."""

        def work() -> MergeResult:
            return _merging.merge(
                self._api,
                self._project(repository),
                repository,
                number,
                method=method,
                expected_head_sha=expected_head_sha,
                commit_title=commit_title,
            )

        return await self._run(work, _merge_request(repository, number))

    # -- plumbing --------------------------------------------------------------------------

    async def _run(self, work: Callable[[], T], operation: Operation) -> T:
        calls: list[ForgeCall] = []

        def in_thread() -> T:
            with self._adapter.recording(calls):
                return work()

        try:
            return await anyio.to_thread.run_sync(in_thread)
        except OrchestrateError:
            raise
        except (GitlabError, RateLimited, requests.RequestException, OSError) as error:
            raise translate(error, operation) from error
        finally:
            with anyio.CancelScope(shield=True):
                await self._report(calls)

    async def _report(self, calls: list[ForgeCall]) -> None:
        for call in calls:
            try:
                await self._observer(call)
            except Exception:  # the call happened; a lost record must not undo it
                log.warning("forge_call_not_recorded", forge=FORGE, path=call.path, exc_info=True)

    def _project(self, repository: str) -> Project:
        _check_path(repository)
        return self._api.projects.get(repository, lazy=True)

    def _merge_request(self, repository: str, number: int) -> ProjectMergeRequest:
        return self._project(repository).mergerequests.get(number, lazy=True)

    def _merge_request_url(self, repository: str, number: int) -> str:
        return f"{self._web_url}/{repository}/-/merge_requests/{number}"

    def _open_between(self, project: Project, head: str, base: str) -> dict[str, Any] | None:
        found = project.mergerequests.list(
            get_all=True, state="opened", source_branch=head, target_branch=base
        )
        return found[0].attributes if found else None


class _Tail:
    """The last ``limit`` bytes of a stream, decoded as UTF-8 (damage replaced)."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._buffer = bytearray()
        self.truncated = False

    def add(self, chunk: bytes) -> None:
        self._buffer += chunk
        if len(self._buffer) > self._limit:
            del self._buffer[: len(self._buffer) - self._limit]
            self.truncated = True

    def text(self) -> str:
        text = self._buffer.decode("utf-8", errors="replace")
        return f"[… earlier output cut …]\n{text}" if self.truncated else text


def _merge_request(repository: str, number: int) -> Operation:
    return Operation("merge request", f"{repository}!{number}")


def _document(value: object) -> convert.Document:
    return value if isinstance(value, dict) else {}


def _check_path(repository: str) -> None:
    """A project path is ``group[/subgroup…]/name``: the client URL-encodes it whole, and
    a ``..`` segment would still be resolved away by the HTTP layer."""
    segments = repository.split("/")
    if len(segments) < 2 or not all(_PATH_SEGMENT.fullmatch(part) for part in segments):
        raise ValidationFailed(
            f"{repository!r} is not a GitLab project path (group/name, subgroups allowed)"
        )
