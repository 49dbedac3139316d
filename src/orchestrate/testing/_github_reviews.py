"""The fake GitHub's routes for labels, comments, reviews (whose line comments open review
threads), check runs, commit statuses and job logs (a 302 to the log's archive)."""

from __future__ import annotations

from typing import Any

from orchestrate.testing._github_http import (
    Answer,
    RestRequest,
    emit,
    emit_pull_request,
    error,
    invalid,
    page_of,
    pull_of,
    render_check_run,
    render_comment,
    render_pull,
    render_review,
    route,
)
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
    random_sha,
)

_REVIEW_STATES = {
    "APPROVE": "APPROVED",
    "REQUEST_CHANGES": "CHANGES_REQUESTED",
    "COMMENT": "COMMENTED",
}


# -- labels, comments, reviews -----------------------------------------------------------------


@route("POST", r"/issues/(?P<number>\d+)/labels")
def add_labels(
    state: GitHubState, request: RestRequest, repository: FakeRepository, args: list[str]
) -> Answer:
    pull = pull_of(repository, args[0])
    if pull is None:
        return error(404, "Not Found")
    body = request.body
    labels = body.get("labels") if isinstance(body, dict) else body
    if not isinstance(labels, list) or not all(isinstance(name, str) and name for name in labels):
        return invalid({"resource": "Label", "field": "labels", "code": "invalid"})
    for name in labels:
        if name not in pull.labels:
            pull.labels.append(name)
            emit_pull_request(
                state, repository, pull, request.user, "labeled", label={"name": name}
            )
    return Answer(200, [{"name": name} for name in pull.labels])


@route("GET", r"/issues/(?P<number>\d+)/comments")
def list_comments(
    state: GitHubState, request: RestRequest, repository: FakeRepository, args: list[str]
) -> Answer:
    pull = pull_of(repository, args[0])
    if pull is None:
        return error(404, "Not Found")
    return Answer(
        200,
        page_of(
            request,
            [render_comment(repository, pull.number, c, request.origin) for c in pull.comments],
        ),
    )


@route("POST", r"/issues/(?P<number>\d+)/comments")
def create_comment(
    state: GitHubState, request: RestRequest, repository: FakeRepository, args: list[str]
) -> Answer:
    pull = pull_of(repository, args[0])
    if pull is None:
        return error(404, "Not Found")
    body = request.body if isinstance(request.body, dict) else {}
    if not isinstance(body.get("body"), str) or not body["body"]:
        return invalid({"resource": "IssueComment", "field": "body", "code": "missing_field"})
    comment = FakeComment(state.next_id(), body["body"], request.user)
    pull.comments.append(comment)
    rendered_pull = render_pull(repository, pull, request.origin)
    issue = {**rendered_pull, "pull_request": {"html_url": rendered_pull["html_url"]}}
    rendered = render_comment(repository, pull.number, comment, request.origin)
    emit(state, "issue_comment", repository, request.user, "created", issue=issue, comment=rendered)
    return Answer(201, render_comment(repository, pull.number, comment, request.origin))


@route("GET", r"/pulls/(?P<number>\d+)/reviews")
def list_reviews(
    state: GitHubState, request: RestRequest, repository: FakeRepository, args: list[str]
) -> Answer:
    pull = pull_of(repository, args[0])
    if pull is None:
        return error(404, "Not Found")
    return Answer(
        200,
        page_of(
            request,
            [render_review(repository, pull.number, r, request.origin) for r in pull.reviews],
        ),
    )


@route("POST", r"/pulls/(?P<number>\d+)/reviews")
def create_review(
    state: GitHubState, request: RestRequest, repository: FakeRepository, args: list[str]
) -> Answer:
    pull = pull_of(repository, args[0])
    if pull is None:
        return error(404, "Not Found")
    body = request.body if isinstance(request.body, dict) else {}
    verdict = _REVIEW_STATES.get(body.get("event", ""))
    if verdict is None:
        return invalid({"resource": "PullRequestReview", "field": "event", "code": "invalid"})
    if (
        state.refuses_own_reviews
        and verdict in _OWN_REVIEW_REFUSALS
        and pull.user.login == request.user.login
    ):
        return invalid(message=f"Unprocessable Entity: {_OWN_REVIEW_REFUSALS[verdict]}")
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


_OWN_REVIEW_REFUSALS = {
    "APPROVED": "Review Can not approve your own pull request",
    "CHANGES_REQUESTED": "Review Can not request changes on your own pull request",
}


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
    # Webhooks spell the review state in lower case, the REST API in upper case.
    rendered = render_review(repository, pull.number, review, state.origin)
    rendered["state"] = review.state.lower()
    pull_request = render_pull(repository, pull, state.origin)
    emit(
        state,
        "pull_request_review",
        repository,
        user,
        "submitted",
        review=rendered,
        pull_request=pull_request,
    )
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
    rendered = page_of(request, [render_check_run(run, request.origin, repository) for run in runs])
    return Answer(200, {"total_count": len(runs), "check_runs": rendered})


@route("GET", r"/commits/(?P<ref>[^/]+)/statuses")
def list_statuses(
    state: GitHubState, request: RestRequest, repository: FakeRepository, args: list[str]
) -> Answer:
    sha = repository.head(args[0]) or args[0]
    statuses: list[FakeStatus] = [s for s in reversed(repository.statuses) if s.sha == sha]
    return Answer(
        200,
        page_of(
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
    base = state.log_origin or request.origin
    location = f"{base}/_fake/job-logs/{repository.full_name}/{args[0]}?sig={random_sha()}"
    return Answer(302, "", {"location": location}, "text/plain")
