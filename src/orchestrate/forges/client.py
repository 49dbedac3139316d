"""What Orchestrate asks of a forge, whichever it is: the ``ForgeClient`` protocol.

Pull requests (GitLab's merge requests), reviews and their threads, checks and their
logs, comments, labels and merges, in forge-neutral types. Each adapter (``github/``
with githubkit, ``gitlab/`` with python-gitlab) implements it; the shepherd, the merge
controller and the pull-request commands use only this protocol, so a fake forge in
``orchestrate.testing`` can stand behind either client in tests.

Everything a forge answers is hostile input: adapters leave an odd field ``None`` or
empty rather than raise, and every text here is untrusted. Adapters respect the forge's
rate limits (waiting out ``retry-after`` and an exhausted primary limit), retry transient
failures (connection errors, 502/503/504) with backoff, and report every HTTP call they
make to a ``CallObserver`` so it can be shown in the event log.

Numbers: ``number`` is what people see (GitHub's pull request number, GitLab's merge
request ``iid``). ``repository`` is ``owner/name`` (GitLab: the project's full path).
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from orchestrate.core.errors import Conflict, IntegrationError, NotFound
from orchestrate.forges.models import Person


class PullRequestState(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    MERGED = "merged"


class MergeMethod(enum.StrEnum):
    MERGE = "merge"
    SQUASH = "squash"
    REBASE = "rebase"


class ReviewVerdict(enum.StrEnum):
    """What a review concludes (GitHub's review state; GitLab approvals and notes)."""

    APPROVED = "approved"
    CHANGES_REQUESTED = "changes_requested"
    COMMENTED = "commented"
    DISMISSED = "dismissed"


class CheckState(enum.StrEnum):
    """Where a check stands: still to finish, or finished with this outcome."""

    PENDING = "pending"
    SUCCESS = "success"
    FAILURE = "failure"
    NEUTRAL = "neutral"  # skipped, neutral: neither blocks nor passes a required check
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class RepositoryInfo:
    repository: str
    default_branch: str
    clone_url: str
    web_url: str
    private: bool


@dataclass(frozen=True)
class PullRequestInfo:
    """A pull request as the forge reports it now.

    ``mergeable`` is None while the forge is still computing it; False means conflicts.
    """

    repository: str
    number: int
    url: str
    title: str
    body: str
    state: PullRequestState
    draft: bool
    head_branch: str
    head_sha: str
    base_branch: str
    author: Person
    labels: tuple[str, ...] = ()
    mergeable: bool | None = None
    merge_commit_sha: str | None = None


@dataclass(frozen=True)
class Comment:
    """A comment on a pull request's conversation (not on a line of its diff)."""

    id: str
    body: str
    author: Person
    url: str


@dataclass(frozen=True)
class Review:
    id: str
    verdict: ReviewVerdict
    body: str
    author: Person
    commit_sha: str | None
    url: str


@dataclass(frozen=True)
class LineComment:
    """A comment on one line of the diff, as a review submits it (``line`` in the new file)."""

    path: str
    line: int
    body: str


@dataclass(frozen=True)
class ThreadComment:
    id: str
    body: str
    author: Person


@dataclass(frozen=True)
class ReviewThread:
    """A conversation on a line of the diff (GitLab: a resolvable discussion).

    ``outdated`` means the line it was on has since changed.
    """

    id: str
    resolved: bool
    outdated: bool
    path: str | None
    line: int | None
    comments: tuple[ThreadComment, ...]


@dataclass(frozen=True)
class Check:
    """One check of a commit: a GitHub check run or commit status, a GitLab job.

    ``job_id`` names what ``check_log`` reads; None when the forge keeps no log for it
    (a plain commit status), ``details_url`` then says where to look.
    """

    name: str
    state: CheckState
    job_id: str | None
    details_url: str | None
    summary: str = ""


@dataclass(frozen=True)
class MergeResult:
    merged: bool
    sha: str | None
    message: str


@dataclass(frozen=True)
class SarifReceipt:
    """GitHub code scanning accepted a SARIF upload; ``id`` reads its processing."""

    id: str
    url: str


@dataclass(frozen=True)
class SarifProcessing:
    """How GitHub code scanning got on with an upload: pending, complete or failed."""

    status: str
    errors: tuple[str, ...] = ()
    analyses_url: str | None = None


@dataclass(frozen=True)
class ForgeCall:
    """One HTTP call an adapter made, for the event log: never a credential or a body."""

    forge: str
    method: str
    path: str
    status: int | None  # None: no answer (connection failed)
    duration_ms: float
    attempt: int
    waited_s: float = 0.0  # how long a rate limit made it wait first
    error: str | None = None


CallObserver = Callable[[ForgeCall], Awaitable[None]]


class ForgeError(IntegrationError):
    """The forge failed or refused in a way retrying does not cure (HTTP 502 problem).

    ``status`` is the forge's HTTP status, ``reason`` its own words.
    """

    title = "Forge call failed"

    def __init__(self, message: str, *, status: int | None = None, reason: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason


class ForgeNotFound(NotFound):
    title = "Not found on the forge"


class MergeRefused(Conflict):
    """The forge would not merge; ``reason`` is the forge's own explanation."""

    title = "Merge refused by the forge"

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class NewPullRequest:
    repository: str
    head_branch: str
    base_branch: str
    title: str
    body: str
    draft: bool = False
    labels: tuple[str, ...] = field(default_factory=tuple)


class ForgeClient(Protocol):
    """The calls Orchestrate makes to a forge. Every method may raise ``ForgeError``,
    ``ForgeNotFound`` (repository, pull request, thread or job unknown) or
    ``AuthenticationFailed`` (a credential the forge rejects; a missing one is a
    ``ConfigurationError`` when the client is built)."""

    @property
    def forge(self) -> str:
        """``github`` or ``gitlab``."""
        ...

    async def whoami(self) -> str:
        """The login Orchestrate acts as on this forge (a GitHub App: ``<slug>[bot]``), so
        the shepherd knows its own words from people's."""
        ...

    async def get_repository(self, repository: str) -> RepositoryInfo: ...

    async def open_pull_request(self, new: NewPullRequest) -> PullRequestInfo:
        """Open a pull request; when one is already open for the same head and base, return
        that one instead (so a retried or resumed job never opens a second)."""
        ...

    async def get_pull_request(self, repository: str, number: int) -> PullRequestInfo: ...

    async def list_pull_requests(
        self,
        repository: str,
        *,
        state: PullRequestState | None = PullRequestState.OPEN,
        head_branch: str | None = None,
    ) -> list[PullRequestInfo]: ...

    async def add_labels(self, repository: str, number: int, labels: Sequence[str]) -> None: ...

    async def list_comments(self, repository: str, number: int) -> list[Comment]: ...

    async def comment(self, repository: str, number: int, body: str) -> Comment: ...

    async def list_reviews(self, repository: str, number: int) -> list[Review]: ...

    async def submit_review(
        self,
        repository: str,
        number: int,
        *,
        verdict: ReviewVerdict,
        body: str,
        comments: Sequence[LineComment] = (),
        commit_sha: str | None = None,
    ) -> Review: ...

    async def list_review_threads(self, repository: str, number: int) -> list[ReviewThread]: ...

    async def reply_to_thread(
        self, repository: str, number: int, thread_id: str, body: str
    ) -> ThreadComment: ...

    async def resolve_thread(self, repository: str, number: int, thread_id: str) -> None: ...

    async def list_checks(self, repository: str, sha: str) -> list[Check]:
        """Every check of the commit, the latest attempt of each name."""
        ...

    async def check_log(self, repository: str, job_id: str) -> str:
        """The job's log as text (a GitHub Actions job log follows the redirect to the archive)."""
        ...

    async def commits_behind_base(self, repository: str, number: int) -> int:
        """How many commits of the base branch the pull request's head lacks (0: up to
        date), as the forge computes it now (GitHub's compare, GitLab's
        ``diverged_commits_count``)."""
        ...

    async def update_branch(self, repository: str, number: int, *, expected_head_sha: str) -> None:
        """Bring the base branch into the pull request's branch on the forge (GitHub's
        update-branch, GitLab's rebase); raises ``MergeRefused`` on conflicts."""
        ...

    async def merge(
        self,
        repository: str,
        number: int,
        *,
        method: MergeMethod,
        expected_head_sha: str,
        commit_title: str | None = None,
    ) -> MergeResult:
        """Merge, only if the head is still ``expected_head_sha``; raises ``MergeRefused``
        with the forge's reason otherwise or when the forge refuses. Never an admin
        override."""
        ...

    async def close_pull_request(self, repository: str, number: int) -> PullRequestInfo: ...
