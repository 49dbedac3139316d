"""``ForgeClient`` for GitHub: githubkit's REST API, and GraphQL for review threads.

One ``GitHubClient`` serves every repository its credentials reach. Its ``session``
holds the githubkit clients (one per installation of a GitHub App) and turns failures
into forge errors; its ``ObservedTransport`` waits out rate limits, retries and reports
every call. Answers are read as JSON by ``convert``, never raised on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import httpx
from githubkit.utils import UNSET

from orchestrate.core.errors import ValidationFailed
from orchestrate.forges.client import (
    CallObserver,
    Check,
    Comment,
    ForgeError,
    LineComment,
    MergeMethod,
    MergeRefused,
    MergeResult,
    NewPullRequest,
    PullRequestInfo,
    PullRequestState,
    RepositoryInfo,
    Review,
    ReviewThread,
    ReviewVerdict,
    SarifProcessing,
    SarifReceipt,
    ThreadComment,
)
from orchestrate.forges.github import convert
from orchestrate.forges.github.auth import GitHubCredentials
from orchestrate.forges.github.convert import items, mapping
from orchestrate.forges.github.session import PER_PAGE, Fetch, GitHubSession, split
from orchestrate.forges.github.threads import (
    MAX_THREAD_PAGES,
    REPLY_TO_THREAD,
    RESOLVE_THREAD,
    REVIEW_THREADS,
)
from orchestrate.forges.github.transport import ObservedTransport, RetryPolicy

FORGE = "github"
DEFAULT_API_URL = "https://api.github.com"
MAX_LOG_CHARS = 2_000_000
"""A job log longer than this is cut to its end: the failure is at the end."""

_REVIEW_EVENTS: dict[ReviewVerdict, Literal["APPROVE", "REQUEST_CHANGES", "COMMENT"]] = {
    ReviewVerdict.APPROVED: "APPROVE",
    ReviewVerdict.CHANGES_REQUESTED: "REQUEST_CHANGES",
    ReviewVerdict.COMMENTED: "COMMENT",
}
_MERGE_METHODS: dict[MergeMethod, Literal["merge", "squash", "rebase"]] = {
    MergeMethod.MERGE: "merge",
    MergeMethod.SQUASH: "squash",
    MergeMethod.REBASE: "rebase",
}
_LIST_STATES: dict[PullRequestState | None, Literal["open", "closed", "all"]] = {
    None: "all",
    PullRequestState.OPEN: "open",
    PullRequestState.CLOSED: "closed",
    PullRequestState.MERGED: "closed",
}


class GitHubClient:
    """GitHub through githubkit. Use ``async with`` or call ``aclose`` when done."""

    def __init__(
        self,
        credentials: GitHubCredentials,
        *,
        api_url: str = DEFAULT_API_URL,
        observer: CallObserver | None = None,
        policy: RetryPolicy | None = None,
        timeout: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._session = GitHubSession(
            credentials,
            api_url=api_url,
            timeout=timeout,
            transport=ObservedTransport(
                forge=FORGE, observer=observer, policy=policy, inner=transport
            ),
        )

    @property
    def forge(self) -> str:
        return FORGE

    async def aclose(self) -> None:
        await self._session.close()

    async def __aenter__(self) -> GitHubClient:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    async def whoami(self) -> str:
        return await self._session.login()

    # -- repositories and pull requests --------------------------------------------------------

    async def get_repository(self, repository: str) -> RepositoryInfo:
        owner, name = split(repository)
        response = await self._session.call(
            repository,
            f"reading repository {repository}",
            lambda gh: gh.rest.repos.async_get(owner, name),
        )
        return convert.repository(mapping(response.json()))

    async def open_pull_request(self, new: NewPullRequest) -> PullRequestInfo:
        owner, name = split(new.repository)
        what = (
            f"opening a pull request from {new.head_branch} into {new.base_branch} "
            f"of {new.repository}"
        )
        try:
            response = await self._session.call(
                new.repository,
                what,
                lambda gh: gh.rest.pulls.async_create(
                    owner,
                    name,
                    head=new.head_branch,
                    base=new.base_branch,
                    title=new.title,
                    body=new.body,
                    draft=new.draft,
                ),
            )
            opened = convert.pull_request(new.repository, mapping(response.json()))
        except ForgeError as error:
            if error.status != 422 or "already exists" not in error.reason:
                raise
            opened = await self._existing_pull_request(new, error)
        if new.labels and not set(new.labels) <= set(opened.labels):
            await self.add_labels(new.repository, opened.number, new.labels)
            return await self.get_pull_request(new.repository, opened.number)
        return opened

    async def _existing_pull_request(
        self, new: NewPullRequest, error: ForgeError
    ) -> PullRequestInfo:
        """The open pull request GitHub said exists for the same head and base."""
        found = await self.list_pull_requests(new.repository, head_branch=new.head_branch)
        for pull_request in found:
            if pull_request.base_branch == new.base_branch:
                # A listed pull request lacks ``mergeable``: read it whole.
                return await self.get_pull_request(new.repository, pull_request.number)
        raise error

    async def get_pull_request(self, repository: str, number: int) -> PullRequestInfo:
        owner, name = split(repository)
        response = await self._session.call(
            repository,
            f"reading pull request #{number} of {repository}",
            lambda gh: gh.rest.pulls.async_get(owner, name, number),
        )
        return convert.pull_request(repository, mapping(response.json()))

    async def list_pull_requests(
        self,
        repository: str,
        *,
        state: PullRequestState | None = PullRequestState.OPEN,
        head_branch: str | None = None,
    ) -> list[PullRequestInfo]:
        owner, name = split(repository)
        head = f"{owner}:{head_branch}" if head_branch else UNSET

        def page(number: int) -> Fetch:
            return lambda gh: gh.rest.pulls.async_list(
                owner,
                name,
                state=_LIST_STATES[state],
                per_page=PER_PAGE,
                page=number,
                head=head,
            )

        found = await self._session.pages(
            repository, f"listing pull requests of {repository}", page
        )
        pull_requests = [convert.pull_request(repository, data) for data in found]
        if state is None:
            return pull_requests
        return [pr for pr in pull_requests if pr.state == state]

    async def add_labels(self, repository: str, number: int, labels: Sequence[str]) -> None:
        owner, name = split(repository)
        if not labels:
            return
        await self._session.call(
            repository,
            f"labelling pull request #{number} of {repository}",
            lambda gh: gh.rest.issues.async_add_labels(owner, name, number, labels=list(labels)),
        )

    async def commits_behind_base(self, repository: str, number: int) -> int:
        """GitHub's comparison of the base branch with the head commit (``behind_by``);
        ``mergeable_state`` says ``behind`` only under a branch protection rule."""
        pull_request = await self.get_pull_request(repository, number)
        owner, name = split(repository)
        basehead = f"{pull_request.base_branch}...{pull_request.head_sha}"
        response = await self._session.call(
            repository,
            f"comparing pull request #{number} of {repository} with its base",
            lambda gh: gh.rest.repos.async_compare_commits(owner, name, basehead),
        )
        behind = mapping(response.json()).get("behind_by")
        return behind if isinstance(behind, int) and behind > 0 else 0

    async def update_branch(self, repository: str, number: int, *, expected_head_sha: str) -> None:
        owner, name = split(repository)
        await self._session.call(
            repository,
            f"updating the branch of pull request #{number} of {repository}",
            lambda gh: gh.rest.pulls.async_update_branch(
                owner, name, number, expected_head_sha=expected_head_sha
            ),
            refusals=True,
        )

    async def merge(
        self,
        repository: str,
        number: int,
        *,
        method: MergeMethod,
        expected_head_sha: str,
        commit_title: str | None = None,
    ) -> MergeResult:
        owner, name = split(repository)
        try:
            response = await self._session.call(
                repository,
                f"merging pull request #{number} of {repository}",
                lambda gh: gh.rest.pulls.async_merge(
                    owner,
                    name,
                    number,
                    sha=expected_head_sha,
                    merge_method=_MERGE_METHODS[method],
                    commit_title=commit_title or UNSET,
                ),
                refusals=True,
            )
        except MergeRefused:
            # A merge retried after a lost answer (a 502, a worker killed) finds it done:
            # that is this merge's success, not a refusal.
            current = await self.get_pull_request(repository, number)
            if current.state is PullRequestState.MERGED and current.head_sha == expected_head_sha:
                return MergeResult(True, current.merge_commit_sha, "Pull Request already merged")
            raise
        data = mapping(response.json())
        return MergeResult(
            merged=data.get("merged") is True,
            sha=convert.optional_text(data.get("sha")),
            message=convert.text(data.get("message")),
        )

    async def close_pull_request(self, repository: str, number: int) -> PullRequestInfo:
        owner, name = split(repository)
        response = await self._session.call(
            repository,
            f"closing pull request #{number} of {repository}",
            lambda gh: gh.rest.pulls.async_update(owner, name, number, state="closed"),
        )
        return convert.pull_request(repository, mapping(response.json()))

    # -- conversation and reviews --------------------------------------------------------------

    async def list_comments(self, repository: str, number: int) -> list[Comment]:
        owner, name = split(repository)

        def page(index: int) -> Fetch:
            return lambda gh: gh.rest.issues.async_list_comments(
                owner, name, number, per_page=PER_PAGE, page=index
            )

        found = await self._session.pages(
            repository, f"reading comments of #{number} of {repository}", page
        )
        return [convert.comment(data) for data in found]

    async def comment(self, repository: str, number: int, body: str) -> Comment:
        owner, name = split(repository)
        response = await self._session.call(
            repository,
            f"commenting on #{number} of {repository}",
            lambda gh: gh.rest.issues.async_create_comment(owner, name, number, body=body),
        )
        return convert.comment(mapping(response.json()))

    async def list_reviews(self, repository: str, number: int) -> list[Review]:
        owner, name = split(repository)

        def page(index: int) -> Fetch:
            return lambda gh: gh.rest.pulls.async_list_reviews(
                owner, name, number, per_page=PER_PAGE, page=index
            )

        found = await self._session.pages(
            repository, f"reading reviews of #{number} of {repository}", page
        )
        return [convert.review(data) for data in found]

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
        owner, name = split(repository)
        event = _REVIEW_EVENTS.get(verdict)
        if event is None:
            raise ValidationFailed(f"A review cannot be submitted as {verdict.value!r}")
        line_comments = [
            {"path": c.path, "line": c.line, "side": "RIGHT", "body": c.body} for c in comments
        ]
        response = await self._session.call(
            repository,
            f"reviewing #{number} of {repository}",
            lambda gh: gh.rest.pulls.async_create_review(
                owner,
                name,
                number,
                event=event,
                body=body,
                comments=line_comments or UNSET,
                commit_id=commit_sha or UNSET,
            ),
        )
        return convert.review(mapping(response.json()))

    # -- review threads (GraphQL) -------------------------------------------------------------

    async def list_review_threads(self, repository: str, number: int) -> list[ReviewThread]:
        owner, name = split(repository)
        threads: list[ReviewThread] = []
        after: str | None = None
        for _ in range(MAX_THREAD_PAGES):
            variables = {"owner": owner, "name": name, "number": number, "after": after}
            data = await self._session.graphql(
                repository,
                f"reading review threads of #{number} of {repository}",
                REVIEW_THREADS,
                variables,
            )
            pull_request = mapping(mapping(data.get("repository")).get("pullRequest"))
            connection = mapping(pull_request.get("reviewThreads"))
            threads.extend(convert.review_thread(node) for node in items(connection.get("nodes")))
            page_info = mapping(connection.get("pageInfo"))
            after = convert.optional_text(page_info.get("endCursor"))
            if page_info.get("hasNextPage") is not True or after is None:
                break
        return threads

    async def reply_to_thread(
        self, repository: str, number: int, thread_id: str, body: str
    ) -> ThreadComment:
        data = await self._session.graphql(
            repository,
            f"replying in review thread {thread_id} of #{number} of {repository}",
            REPLY_TO_THREAD,
            {"thread": thread_id, "body": body},
        )
        payload = mapping(data.get("addPullRequestReviewThreadReply"))
        return convert.thread_comment(mapping(payload.get("comment")))

    async def resolve_thread(self, repository: str, number: int, thread_id: str) -> None:
        await self._session.graphql(
            repository,
            f"resolving review thread {thread_id} of #{number} of {repository}",
            RESOLVE_THREAD,
            {"thread": thread_id},
        )

    # -- checks --------------------------------------------------------------------------------

    async def list_checks(self, repository: str, sha: str) -> list[Check]:
        owner, name = split(repository)

        def runs(index: int) -> Fetch:
            return lambda gh: gh.rest.checks.async_list_for_ref(
                owner, name, sha, filter_="all", per_page=PER_PAGE, page=index
            )

        def statuses(index: int) -> Fetch:
            return lambda gh: gh.rest.repos.async_list_commit_statuses_for_ref(
                owner, name, sha, per_page=PER_PAGE, page=index
            )

        what = f"reading the checks of {sha[:12]} in {repository}"
        check_runs = await self._session.pages(repository, what, runs, key="check_runs")
        commit_statuses = await self._session.pages(repository, what, statuses)
        return convert.latest_checks(check_runs, commit_statuses)

    async def check_log(self, repository: str, job_id: str) -> str:
        owner, name = split(repository)
        if not job_id.isdigit():
            raise ValidationFailed(f"A GitHub Actions job id is a number, not {job_id[:40]!r}")
        response = await self._session.call(
            repository,
            f"reading the log of job {job_id} in {repository}",
            lambda gh: gh.rest.actions.async_download_job_logs_for_workflow_run(
                owner, name, int(job_id)
            ),
        )
        log = response.text
        return log[-MAX_LOG_CHARS:]

    # -- code scanning -------------------------------------------------------------------------

    async def upload_sarif(
        self, repository: str, *, commit_sha: str, ref: str, sarif_gzip_base64: str
    ) -> SarifReceipt:
        """Upload a gzip-compressed, base64-encoded SARIF log to code scanning (202)."""
        owner, name = split(repository)
        response = await self._session.call(
            repository,
            f"uploading SARIF for {commit_sha[:12]} ({ref}) to {repository}'s code scanning",
            lambda gh: gh.rest.code_scanning.async_upload_sarif(
                owner,
                name,
                commit_sha=commit_sha,
                ref=ref,
                sarif=sarif_gzip_base64,
                tool_name="orchestrate",
            ),
        )
        body = mapping(response.json())
        return SarifReceipt(id=str(body.get("id") or ""), url=str(body.get("url") or ""))

    async def sarif_processing(self, repository: str, sarif_id: str) -> SarifProcessing:
        owner, name = split(repository)
        response = await self._session.call(
            repository,
            f"reading SARIF upload {sarif_id[:64]} of {repository}",
            lambda gh: gh.rest.code_scanning.async_get_sarif(owner, name, sarif_id),
        )
        body = mapping(response.json())
        errors = body.get("errors") or []
        return SarifProcessing(
            status=str(body.get("processing_status") or "pending"),
            errors=tuple(str(e) for e in errors) if isinstance(errors, list) else (),
            analyses_url=str(body["analyses_url"]) if body.get("analyses_url") else None,
        )


__all__ = ["DEFAULT_API_URL", "FORGE", "GitHubClient", "split"]
