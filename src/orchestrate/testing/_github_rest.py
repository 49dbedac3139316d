"""The REST routes of the fake GitHub: what the real API answers, in its JSON shapes.

Each route validates what GitHub validates (required fields, known values, a head
branch that exists) and answers GitHub's errors: 404 ``Not Found``, 422 ``Validation
Failed`` with ``errors``, 405/409 for merges. Renderers emit the fields the adapter and
githubkit read, not GitHub's every field.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from orchestrate.testing._github_state import (
    FakeCheckRun,
    FakeComment,
    FakePullRequest,
    FakeRepository,
    FakeReview,
    FakeStatus,
    FakeThread,
    FakeThreadComment,
    FakeUser,
    GitHubState,
    now_iso,
    random_sha,
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
_ROUTES: list[tuple[str, re.Pattern[str], Handler]] = []


def route(method: str, pattern: str) -> Callable[[Handler], Handler]:
    compiled = re.compile("^/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)" + pattern + "$")

    def register(handler: Handler) -> Handler:
        _ROUTES.append((method, compiled, handler))
        return handler

    return register


def answer_rest(state: GitHubState, request: RestRequest) -> Answer:
    """Route a request for ``/repos/{owner}/{repo}/…``; anything else is 404."""
    for method, pattern, handler in _ROUTES:
        match = pattern.match(request.path)
        if match is None or method != request.method:
            continue
        repository = state.repository(f"{match['owner']}/{match['repo']}")
        if repository is None:
            return error(404, "Not Found")
        groups = [
            value for name, value in match.groupdict().items() if name not in ("owner", "repo")
        ]
        return handler(state, request, repository, groups)
    return error(404, "Not Found")


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
    }


# -- repositories and pull requests ------------------------------------------------------------


@route("GET", "")
def get_repository(
    state: GitHubState, request: RestRequest, repository: FakeRepository, _: list[str]
) -> Answer:
    return Answer(200, render_repository(repository, request.origin))


def _pull(repository: FakeRepository, number: str) -> FakePullRequest | None:
    return repository.pulls.get(int(number))


@route("GET", "/pulls")
def list_pulls(
    state: GitHubState, request: RestRequest, repository: FakeRepository, _: list[str]
) -> Answer:
    wanted = request.query.get("state", "open")
    if wanted not in ("open", "closed", "all"):
        return invalid({"resource": "PullRequest", "field": "state", "code": "invalid"})
    head = request.query.get("head")
    found = [
        pull
        for pull in sorted(repository.pulls.values(), key=lambda p: -p.number)
        if wanted in ("all", pull.state)
        and (
            head is None
            or head.lower() == f"{repository.full_name.split('/')[0]}:{pull.head}".lower()
        )
        and request.query.get("base", pull.base) == pull.base
    ]
    page, per_page = (
        int(request.query.get("page", "1")),
        min(int(request.query.get("per_page", "30")), 100),
    )
    chosen = found[(page - 1) * per_page : page * per_page]
    return Answer(
        200, [render_pull(repository, pull, request.origin, full=False) for pull in chosen]
    )


@route("POST", "/pulls")
def create_pull(
    state: GitHubState, request: RestRequest, repository: FakeRepository, _: list[str]
) -> Answer:
    body = request.body if isinstance(request.body, dict) else {}
    missing = [
        name
        for name in ("head", "base", "title")
        if not isinstance(body.get(name), str) or not body[name]
    ]
    if missing:
        return invalid(
            *(
                {"resource": "PullRequest", "field": name, "code": "missing_field"}
                for name in missing
            )
        )
    head = body["head"].split(":", 1)[-1]
    if repository.head(head) is None:
        return invalid({"resource": "PullRequest", "field": "head", "code": "invalid"})
    if repository.head(body["base"]) is None:
        return invalid({"resource": "PullRequest", "field": "base", "code": "invalid"})
    for pull in repository.pulls.values():
        if pull.state == "open" and pull.head == head and pull.base == body["base"]:
            owner = repository.full_name.split("/")[0]
            return invalid(
                {
                    "resource": "PullRequest",
                    "code": "custom",
                    "message": f"A pull request already exists for {owner}:{head}.",
                }
            )
    pull = FakePullRequest(
        number=repository.next_number,
        id=state.next_id(),
        title=body["title"],
        body=body.get("body") or "",
        head=head,
        base=body["base"],
        draft=body.get("draft") is True,
        user=request.user,
    )
    repository.next_number += 1
    repository.pulls[pull.number] = pull
    return Answer(201, render_pull(repository, pull, request.origin))


@route("GET", r"/pulls/(?P<number>\d+)")
def get_pull(
    state: GitHubState, request: RestRequest, repository: FakeRepository, args: list[str]
) -> Answer:
    pull = _pull(repository, args[0])
    if pull is None:
        return error(404, "Not Found")
    return Answer(200, render_pull(repository, pull, request.origin))


@route("PATCH", r"/pulls/(?P<number>\d+)")
def update_pull(
    state: GitHubState, request: RestRequest, repository: FakeRepository, args: list[str]
) -> Answer:
    pull = _pull(repository, args[0])
    if pull is None:
        return error(404, "Not Found")
    body = request.body if isinstance(request.body, dict) else {}
    if body.get("state") not in (None, "open", "closed"):
        return invalid({"resource": "PullRequest", "field": "state", "code": "invalid"})
    if body.get("state") == "closed" and pull.state == "open":
        repository.head_of(pull)
        pull.state, pull.closed_at = "closed", now_iso()
    for name in ("title", "body"):
        if isinstance(body.get(name), str):
            setattr(pull, name, body[name])
    return Answer(200, render_pull(repository, pull, request.origin))


@route("PUT", r"/pulls/(?P<number>\d+)/merge")
def merge_pull(
    state: GitHubState, request: RestRequest, repository: FakeRepository, args: list[str]
) -> Answer:
    pull = _pull(repository, args[0])
    if pull is None:
        return error(404, "Not Found")
    body = request.body if isinstance(request.body, dict) else {}
    method = body.get("merge_method", "merge")
    if method not in ("merge", "squash", "rebase"):
        return invalid({"resource": "PullRequest", "field": "merge_method", "code": "invalid"})
    head_sha = repository.head_of(pull)
    repository.refresh_mergeable(pull)
    if pull.state != "open" or pull.draft or pull.mergeable is not True:
        return error(405, "Pull Request is not mergeable")
    if body.get("sha") is not None and body["sha"] != head_sha:
        return error(409, "Head branch was modified. Review and try the merge again.")
    title = body.get("commit_title") or f"Merge pull request #{pull.number} from {pull.head}"
    if repository.git is not None:
        sha = repository.git.merge(pull.base, pull.head, title, squash=method != "merge")
        if sha is None:
            return error(405, "Pull Request is not mergeable")
    else:
        sha = random_sha()
        repository.branches[pull.base] = sha
    pull.state, pull.merged, pull.merge_commit_sha = "closed", True, sha
    pull.merged_at = pull.closed_at = now_iso()
    return Answer(200, {"sha": sha, "merged": True, "message": "Pull Request successfully merged"})


@route("PUT", r"/pulls/(?P<number>\d+)/update-branch")
def update_branch(
    state: GitHubState, request: RestRequest, repository: FakeRepository, args: list[str]
) -> Answer:
    pull = _pull(repository, args[0])
    if pull is None:
        return error(404, "Not Found")
    body = request.body if isinstance(request.body, dict) else {}
    head_sha = repository.head_of(pull)
    if body.get("expected_head_sha") not in (None, head_sha):
        return error(422, "expected head sha didn't match current head ref.")
    repository.refresh_mergeable(pull)
    if pull.state != "open" or pull.mergeable is False:
        return error(422, "merge conflict between base and head")
    if repository.git is not None:
        if (
            repository.git.merge(
                pull.head, pull.base, f"Merge branch '{pull.base}' into {pull.head}"
            )
            is None
        ):
            return error(422, "merge conflict between base and head")
    else:
        repository.branches[pull.head] = random_sha()
    url = f"{request.origin}/{repository.full_name}/pull/{pull.number}"
    return Answer(202, {"message": "Updating pull request branch.", "url": url})


# -- labels, comments, reviews -----------------------------------------------------------------


@route("POST", r"/issues/(?P<number>\d+)/labels")
def add_labels(
    state: GitHubState, request: RestRequest, repository: FakeRepository, args: list[str]
) -> Answer:
    pull = _pull(repository, args[0])
    if pull is None:
        return error(404, "Not Found")
    body = request.body
    labels = body.get("labels") if isinstance(body, dict) else body
    if not isinstance(labels, list) or not all(isinstance(name, str) and name for name in labels):
        return invalid({"resource": "Label", "field": "labels", "code": "invalid"})
    for name in labels:
        if name not in pull.labels:
            pull.labels.append(name)
    return Answer(200, [{"name": name} for name in pull.labels])


@route("GET", r"/issues/(?P<number>\d+)/comments")
def list_comments(
    state: GitHubState, request: RestRequest, repository: FakeRepository, args: list[str]
) -> Answer:
    pull = _pull(repository, args[0])
    if pull is None:
        return error(404, "Not Found")
    return Answer(
        200,
        _page(
            request,
            [render_comment(repository, pull.number, c, request.origin) for c in pull.comments],
        ),
    )


@route("POST", r"/issues/(?P<number>\d+)/comments")
def create_comment(
    state: GitHubState, request: RestRequest, repository: FakeRepository, args: list[str]
) -> Answer:
    pull = _pull(repository, args[0])
    if pull is None:
        return error(404, "Not Found")
    body = request.body if isinstance(request.body, dict) else {}
    if not isinstance(body.get("body"), str) or not body["body"]:
        return invalid({"resource": "IssueComment", "field": "body", "code": "missing_field"})
    comment = FakeComment(state.next_id(), body["body"], request.user)
    pull.comments.append(comment)
    return Answer(201, render_comment(repository, pull.number, comment, request.origin))


@route("GET", r"/pulls/(?P<number>\d+)/reviews")
def list_reviews(
    state: GitHubState, request: RestRequest, repository: FakeRepository, args: list[str]
) -> Answer:
    pull = _pull(repository, args[0])
    if pull is None:
        return error(404, "Not Found")
    return Answer(
        200,
        _page(
            request,
            [render_review(repository, pull.number, r, request.origin) for r in pull.reviews],
        ),
    )


@route("POST", r"/pulls/(?P<number>\d+)/reviews")
def create_review(
    state: GitHubState, request: RestRequest, repository: FakeRepository, args: list[str]
) -> Answer:
    pull = _pull(repository, args[0])
    if pull is None:
        return error(404, "Not Found")
    body = request.body if isinstance(request.body, dict) else {}
    verdict = _REVIEW_STATES.get(body.get("event", ""))
    if verdict is None:
        return invalid({"resource": "PullRequestReview", "field": "event", "code": "invalid"})
    if verdict == "CHANGES_REQUESTED" and not body.get("body"):
        return invalid({"resource": "PullRequestReview", "field": "body", "code": "missing_field"})
    comments = body.get("comments") or []
    if not isinstance(comments, list) or not all(_is_line_comment(c) for c in comments):
        return invalid(
            {"resource": "PullRequestReviewComment", "field": "comments", "code": "invalid"}
        )
    review = add_review(
        state,
        repository,
        pull,
        user=request.user,
        verdict=verdict,
        body=body.get("body") or "",
        comments=[(c["path"], c["line"], c["body"]) for c in comments],
        commit_id=body.get("commit_id") or None,
    )
    return Answer(200, render_review(repository, pull.number, review, request.origin))


def _is_line_comment(comment: Any) -> bool:
    return (
        isinstance(comment, dict)
        and isinstance(comment.get("path"), str)
        and isinstance(comment.get("line"), int)
        and isinstance(comment.get("body"), str)
    )


def add_review(
    state: GitHubState,
    repository: FakeRepository,
    pull: FakePullRequest,
    *,
    user: FakeUser,
    verdict: str,
    body: str,
    comments: list[tuple[str, int, str]],
    commit_id: str | None,
) -> FakeReview:
    """A submitted review; each line comment starts a review thread, as on GitHub."""
    review = FakeReview(state.next_id(), verdict, body, user, commit_id or repository.head_of(pull))
    pull.reviews.append(review)
    for path, line, text in comments:
        comment_id = state.next_id()
        first = FakeThreadComment(
            comment_id, f"PRRC_kw{comment_id}", text, user, path, line, review.id
        )
        pull.threads.append(FakeThread(f"PRRT_kw{state.next_id()}", path, line, [first]))
    return review


# -- checks and logs ---------------------------------------------------------------------------


@route("GET", r"/commits/(?P<ref>[^/]+)/check-runs")
def list_check_runs(
    state: GitHubState, request: RestRequest, repository: FakeRepository, args: list[str]
) -> Answer:
    sha = repository.head(args[0]) or args[0]
    runs = [run for run in repository.check_runs if run.head_sha == sha]
    if request.query.get("filter", "latest") == "latest":
        latest: dict[str, FakeCheckRun] = {}
        for run in runs:
            latest[run.name] = run
        runs = list(latest.values())
    rendered = _page(request, [render_check_run(run, request.origin, repository) for run in runs])
    return Answer(200, {"total_count": len(runs), "check_runs": rendered})


@route("GET", r"/commits/(?P<ref>[^/]+)/statuses")
def list_statuses(
    state: GitHubState, request: RestRequest, repository: FakeRepository, args: list[str]
) -> Answer:
    sha = repository.head(args[0]) or args[0]
    statuses: list[FakeStatus] = [s for s in reversed(repository.statuses) if s.sha == sha]
    return Answer(
        200,
        _page(
            request,
            [
                {
                    "id": s.id,
                    "context": s.context,
                    "state": s.state,
                    "description": s.description,
                    "target_url": s.target_url,
                    "created_at": s.created_at,
                }
                for s in statuses
            ],
        ),
    )


@route("GET", r"/actions/jobs/(?P<job>\d+)/logs")
def job_logs(
    state: GitHubState, request: RestRequest, repository: FakeRepository, args: list[str]
) -> Answer:
    if int(args[0]) not in repository.job_logs:
        return error(404, "Not Found")
    location = (
        f"{request.origin}/_fake/job-logs/{repository.full_name}/{args[0]}?sig={random_sha()}"
    )
    return Answer(302, "", {"location": location}, "text/plain")


def _page(request: RestRequest, rendered: list[Any]) -> list[Any]:
    page, per_page = (
        int(request.query.get("page", "1")),
        min(int(request.query.get("per_page", "30")), 100),
    )
    return rendered[(page - 1) * per_page : page * per_page]


__all__ = [
    "Answer",
    "FakeThread",
    "RestRequest",
    "add_review",
    "answer_rest",
    "error",
    "render_user",
]
