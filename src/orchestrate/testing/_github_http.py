"""The HTTP vocabulary of the fake GitHub's REST routes: requests, answers, errors, JSON.

Routes register themselves with ``route`` (``_github_pulls``, ``_github_reviews``);
``_github_rest`` dispatches to them. Errors have GitHub's shape (``message``,
``documentation_url``, and ``errors`` for a 422); renderers emit the fields the adapter
and githubkit read, not every field GitHub sends.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from orchestrate.testing._github_state import (
    FakeCheckRun,
    FakeComment,
    FakeIssue,
    FakePullRequest,
    FakeRepository,
    FakeReview,
    FakeUser,
    GitHubState,
)

DOCS = "https://docs.github.com/rest"
_REVIEW_STATES = {
    "APPROVE": "APPROVED",
    "REQUEST_CHANGES": "CHANGES_REQUESTED",
    "COMMENT": "COMMENTED",
}


@dataclass(frozen=True)
class RestRequest:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    user: FakeUser
    origin: str


@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json; charset=utf-8"


def error(status: int, message: str, **extra: Any) -> Answer:
    return Answer(status, {"message": message, "documentation_url": DOCS, **extra})


def invalid(*errors: dict[str, Any], message: str = "Validation Failed") -> Answer:
    return error(422, message, errors=list(errors))


NOT_FOUND = 404


Handler = Callable[[GitHubState, RestRequest, FakeRepository, list[str]], Answer]
ROUTES: list[tuple[str, re.Pattern[str], Handler]] = []


def route(method: str, pattern: str) -> Callable[[Handler], Handler]:
    compiled = re.compile("^/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)" + pattern + "$")

    def register(handler: Handler) -> Handler:
        ROUTES.append((method, compiled, handler))
        return handler

    return register


def pull_of(repository: FakeRepository, number: str) -> FakePullRequest | None:
    return repository.pulls.get(int(number))


# -- rendering ---------------------------------------------------------------------------------


def render_user(user: FakeUser) -> dict[str, Any]:
    return {
        "login": user.login,
        "id": user.id,
        "type": "Bot" if user.login.endswith("[bot]") else "User",
    }


def render_repository(repository: FakeRepository, origin: str) -> dict[str, Any]:
    owner = repository.full_name.split("/")[0]
    return {
        "id": repository.id,
        "name": repository.full_name.split("/")[1],
        "full_name": repository.full_name,
        "owner": {"login": owner},
        "private": repository.private,
        "default_branch": repository.default_branch,
        "html_url": f"{origin}/{repository.full_name}",
        "clone_url": f"{origin}/{repository.full_name}.git",
    }


def render_pull(
    repository: FakeRepository, pull: FakePullRequest, origin: str, *, full: bool = True
) -> dict[str, Any]:
    head_sha = repository.head_of(pull)
    rendered: dict[str, Any] = {
        "id": pull.id,
        "node_id": pull.node_id,
        "number": pull.number,
        "html_url": f"{origin}/{repository.full_name}/pull/{pull.number}",
        "state": pull.state,
        "title": pull.title,
        "body": pull.body,
        "draft": pull.draft,
        "user": render_user(pull.user),
        "author_association": pull.user.association,
        "labels": [{"name": name} for name in pull.labels],
        "head": {"ref": pull.head, "sha": head_sha, "repo": {"full_name": repository.full_name}},
        "base": {
            "ref": pull.base,
            "sha": repository.head(pull.base) or "",
            "repo": {"full_name": repository.full_name},
        },
        "merged_at": pull.merged_at,
        "closed_at": pull.closed_at,
        "created_at": pull.created_at,
        "merge_commit_sha": pull.merge_commit_sha,
    }
    if full:  # GitHub computes these for one pull request only, not in lists
        repository.refresh_mergeable(pull)
        rendered["merged"] = pull.merged
        rendered["mergeable"] = pull.mergeable if pull.state == "open" else None
    return rendered


def render_comment(
    repository: FakeRepository, number: int, comment: FakeComment, origin: str
) -> dict[str, Any]:
    return {
        "id": comment.id,
        "body": comment.body,
        "user": render_user(comment.user),
        "author_association": comment.user.association,
        "html_url": f"{origin}/{repository.full_name}/pull/{number}#issuecomment-{comment.id}",
        "created_at": comment.created_at,
    }


def render_review(
    repository: FakeRepository, number: int, review: FakeReview, origin: str
) -> dict[str, Any]:
    return {
        "id": review.id,
        "state": review.state,
        "body": review.body,
        "user": render_user(review.user),
        "author_association": review.user.association,
        "commit_id": review.commit_id,
        "submitted_at": review.submitted_at,
        "html_url": f"{origin}/{repository.full_name}/pull/{number}#pullrequestreview-{review.id}",
    }


def render_check_run(run: FakeCheckRun, origin: str, repository: FakeRepository) -> dict[str, Any]:
    return {
        "id": run.id,
        "name": run.name,
        "head_sha": run.head_sha,
        "status": run.status,
        "conclusion": run.conclusion,
        "output": {"title": run.title or None, "summary": run.summary or None},
        "app": {"slug": run.app_slug},
        "details_url": run.details_url
        or f"{origin}/{repository.full_name}/actions/runs/{run.id}/job/{run.id}",
        "html_url": f"{origin}/{repository.full_name}/runs/{run.id}",
    }


def render_issue(repository: FakeRepository, issue: FakeIssue, origin: str) -> dict[str, Any]:
    return {
        "id": issue.id,
        "number": issue.number,
        "title": issue.title,
        "body": issue.body,
        "state": issue.state,
        "user": render_user(issue.user),
        "author_association": issue.user.association,
        "labels": [{"name": name} for name in issue.labels],
        "html_url": f"{origin}/{repository.full_name}/issues/{issue.number}",
        "created_at": issue.created_at,
    }


# -- webhook payloads -----------------------------------------------------------------------


def emit(
    github: GitHubState,
    event: str,
    repository: FakeRepository,
    sender: FakeUser,
    action: str | None = None,
    /,
    **fields: Any,
) -> None:
    """Queue a webhook event with GitHub's common fields (action, repository, sender)."""
    payload: dict[str, Any] = {} if action is None else {"action": action}
    payload.update(fields)
    payload["repository"] = render_repository(repository, github.origin)
    payload["sender"] = render_user(sender)
    github.emit(event, payload)


def emit_pull_request(
    state: GitHubState,
    repository: FakeRepository,
    pull: FakePullRequest,
    sender: FakeUser,
    action: str,
    **fields: Any,
) -> None:
    rendered = render_pull(repository, pull, state.origin)
    emit(
        state,
        "pull_request",
        repository,
        sender,
        action,
        number=pull.number,
        pull_request=rendered,
        **fields,
    )


def emit_push(
    state: GitHubState, repository: FakeRepository, branch: str, before: str, sender: FakeUser
) -> None:
    """A push of ``branch``, and ``synchronize`` for each open pull request it is the head of."""
    after = repository.head(branch) or ""
    emit(
        state,
        "push",
        repository,
        sender,
        ref=f"refs/heads/{branch}",
        before=before,
        after=after,
        commits=[],
    )
    for pull in repository.pulls.values():
        if pull.state == "open" and pull.head == branch:
            emit_pull_request(
                state, repository, pull, sender, "synchronize", before=before, after=after
            )


def page_of(request: RestRequest, rendered: list[Any]) -> list[Any]:
    page, per_page = (
        int(request.query.get("page", "1")),
        min(int(request.query.get("per_page", "30")), 100),
    )
    return rendered[(page - 1) * per_page : page * per_page]
