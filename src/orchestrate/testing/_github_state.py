"""What the fake GitHub remembers: repositories, pull requests and everything on them.

Plain dataclasses behind one lock (held by the server while it answers). Ids are
counters, node ids look like GitHub's (``PRRT_…`` threads, ``PRRC_…`` comments), and
times come from the wall clock: tests read them only for order.
"""

from __future__ import annotations

import itertools
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from orchestrate.testing._github_git import BareRepository


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def random_sha() -> str:
    return secrets.token_hex(20)


@dataclass
class FakeUser:
    login: str
    id: int
    association: str = "MEMBER"
    """How this user relates to every repository of the fake (author_association)."""


@dataclass
class FakeComment:
    id: int
    body: str
    user: FakeUser
    created_at: str = field(default_factory=now_iso)


@dataclass
class FakeThreadComment:
    id: int
    node_id: str
    body: str
    user: FakeUser
    path: str
    line: int
    review_id: int | None


@dataclass
class FakeThread:
    node_id: str
    path: str
    line: int
    comments: list[FakeThreadComment]
    resolved: bool = False
    outdated: bool = False


@dataclass
class FakeReview:
    id: int
    state: str  # APPROVED, CHANGES_REQUESTED, COMMENTED, DISMISSED
    body: str
    user: FakeUser
    commit_id: str
    submitted_at: str = field(default_factory=now_iso)


@dataclass
class FakePullRequest:
    number: int
    id: int
    title: str
    body: str
    head: str
    base: str
    draft: bool
    user: FakeUser
    head_sha: str = ""
    """The head's commit when no bare repository is attached (else read from it)."""
    state: str = "open"
    merged: bool = False
    merged_at: str | None = None
    closed_at: str | None = None
    merge_commit_sha: str | None = None
    mergeable: bool | None = True
    mergeable_override: bool = False
    labels: list[str] = field(default_factory=list)
    comments: list[FakeComment] = field(default_factory=list)
    reviews: list[FakeReview] = field(default_factory=list)
    threads: list[FakeThread] = field(default_factory=list)
    created_at: str = field(default_factory=now_iso)

    @property
    def node_id(self) -> str:
        return f"PR_kw{self.id}"


@dataclass
class FakeCheckRun:
    id: int
    name: str
    head_sha: str
    status: str  # queued, in_progress, completed
    conclusion: str | None
    title: str = ""
    summary: str = ""
    app_slug: str = "github-actions"
    details_url: str | None = None


@dataclass
class FakeStatus:
    id: int
    context: str
    sha: str
    state: str  # pending, success, failure, error
    description: str = ""
    target_url: str | None = None
    created_at: str = field(default_factory=now_iso)


@dataclass
class FakeIssue:
    number: int
    id: int
    title: str
    body: str
    user: FakeUser
    labels: list[str] = field(default_factory=list)
    state: str = "open"
    created_at: str = field(default_factory=now_iso)


@dataclass
class FakeActionsJob:
    """A GitHub Actions job: ``conclusion`` is what it ends with once its run completes."""

    id: int
    name: str
    run_attempt: int
    status: str = "queued"
    conclusion: str | None = None
    planned: str = "success"
    steps: list[str] = field(default_factory=list)
    started_at: str | None = None
    completed_at: str | None = None


@dataclass
class FakeWorkflow:
    id: int
    path: str  # .github/workflows/ci.yml
    name: str
    jobs: list[tuple[str, str, str]] = field(default_factory=list)
    """(name, the conclusion it will have, its log) of each job a new run gets."""


@dataclass
class FakeWorkflowRun:
    id: int
    workflow: FakeWorkflow
    head_branch: str
    head_sha: str
    event: str
    run_number: int
    status: str = "queued"
    conclusion: str | None = None
    run_attempt: int = 1
    created_at: str = field(default_factory=now_iso)
    updated_at: str = field(default_factory=now_iso)
    jobs: list[FakeActionsJob] = field(default_factory=list)
    """Every attempt's jobs; ``run_attempt`` tells them apart."""
    attempts: dict[int, tuple[str, str | None, str]] = field(default_factory=dict)
    """Earlier attempts as they ended: attempt → (status, conclusion, updated_at)."""
    inputs: dict[str, Any] = field(default_factory=dict)


@dataclass
class FakeSarifUpload:
    """A SARIF log code scanning accepted: decoded, and what GitHub says of it."""

    id: str
    commit_sha: str
    ref: str
    sarif: dict[str, Any]
    tool_name: str | None
    processing_status: str = "complete"
    errors: list[str] = field(default_factory=list)


@dataclass
class FakeRepository:
    full_name: str
    id: int
    default_branch: str
    private: bool
    git: BareRepository | None = None
    branches: dict[str, str] = field(default_factory=dict)
    pulls: dict[int, FakePullRequest] = field(default_factory=dict)
    check_runs: list[FakeCheckRun] = field(default_factory=list)
    statuses: list[FakeStatus] = field(default_factory=list)
    job_logs: dict[int, str] = field(default_factory=dict)
    issues: dict[int, FakeIssue] = field(default_factory=dict)
    workflows: dict[str, FakeWorkflow] = field(default_factory=dict)
    workflow_runs: dict[int, FakeWorkflowRun] = field(default_factory=dict)
    sarif_uploads: dict[str, FakeSarifUpload] = field(default_factory=dict)
    code_scanning_enabled: bool = True
    next_number: int = 1
    """Issues and pull requests share one sequence of numbers, as on GitHub."""

    def head(self, branch: str) -> str | None:
        if self.git is not None:
            return self.git.head(branch)
        return self.branches.get(branch)

    def head_of(self, pull: FakePullRequest) -> str:
        """A pull request's head commit: the branch's, or the last one seen once merged."""
        if pull.state == "open":
            current = self.head(pull.head)
            if current is not None:
                pull.head_sha = current
        return pull.head_sha

    def refresh_mergeable(self, pull: FakePullRequest) -> None:
        if pull.mergeable_override or pull.state != "open":
            return
        if self.git is None:
            pull.mergeable = True
            return
        base, head = self.git.head(pull.base), self.git.head(pull.head)
        pull.mergeable = (
            base is not None and head is not None and (self.git.merged_tree(base, head) is not None)
        )


@dataclass
class FakeApp:
    app_id: str
    public_key: str
    installations: dict[str, int]
    """Owner (lower case) to installation id."""
    slug: str = "orchestrate-app"


class GitHubState:
    """Every repository, user and credential of one fake GitHub."""

    def __init__(self) -> None:
        self.repositories: dict[str, FakeRepository] = {}
        self.users: dict[str, FakeUser] = {}
        self.tokens: dict[str, FakeUser] = {}
        self.apps: dict[str, FakeApp] = {}
        self.origin = ""
        self.log_origin: str | None = None
        """Where job logs' 302s lead: the fake's second server (another host, as GitHub's
        signed log URLs are), or this server itself when it is not running."""
        self.refuses_own_reviews = False
        """GitHub's rule, off unless asked for: approving or requesting changes on a
        pull request one opened oneself is a 422."""
        self.outbox: list[tuple[str, dict[str, Any]]] = []
        """Webhook events of the request being answered, sent once it is answered."""
        self._ids = itertools.count(1000)

    def emit(self, event: str, payload: dict[str, Any]) -> None:
        self.outbox.append((event, payload))

    def take_outbox(self) -> list[tuple[str, dict[str, Any]]]:
        events, self.outbox = self.outbox, []
        return events

    def next_id(self) -> int:
        return next(self._ids)

    def user(self, login: str, association: str | None = None) -> FakeUser:
        known = self.users.get(login.lower())
        if known is None:
            known = FakeUser(login, self.next_id(), association or "MEMBER")
            self.users[login.lower()] = known
        elif association is not None:
            known.association = association
        return known

    def repository(self, full_name: str) -> FakeRepository | None:
        return self.repositories.get(full_name.lower())

    def add_repository(
        self, full_name: str, *, default_branch: str, private: bool, git_dir: Path | None
    ) -> FakeRepository:
        repository = FakeRepository(
            full_name,
            self.next_id(),
            default_branch,
            private,
            git=BareRepository(git_dir) if git_dir is not None else None,
        )
        if git_dir is None:
            repository.branches[default_branch] = random_sha()
        self.repositories[full_name.lower()] = repository
        return repository
