"""GitHub's JSON read into the forge-neutral types of ``forges.client``.

The adapter reads ``response.json()`` rather than githubkit's parsed models: a model
raises on one missing or odd field, and what a forge answers is hostile input. Every
reader here tolerates a missing key or a wrong type and falls back to empty text, None
or an unknown state instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from orchestrate.forges.client import (
    Check,
    CheckState,
    Comment,
    PullRequestInfo,
    PullRequestState,
    RepositoryInfo,
    Review,
    ReviewThread,
    ReviewVerdict,
    ThreadComment,
)
from orchestrate.forges.models import Person

_VERDICTS = {
    "APPROVED": ReviewVerdict.APPROVED,
    "CHANGES_REQUESTED": ReviewVerdict.CHANGES_REQUESTED,
    "COMMENTED": ReviewVerdict.COMMENTED,
    "DISMISSED": ReviewVerdict.DISMISSED,
}
_CONCLUSIONS = {
    "success": CheckState.SUCCESS,
    "failure": CheckState.FAILURE,
    "timed_out": CheckState.FAILURE,
    "action_required": CheckState.FAILURE,
    "startup_failure": CheckState.FAILURE,
    "stale": CheckState.FAILURE,
    "cancelled": CheckState.CANCELLED,
    "neutral": CheckState.NEUTRAL,
    "skipped": CheckState.NEUTRAL,
}
_STATUSES = {
    "success": CheckState.SUCCESS,
    "failure": CheckState.FAILURE,
    "error": CheckState.FAILURE,
    "pending": CheckState.PENDING,
}


def mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def items(value: Any) -> list[Mapping[str, Any]]:
    return [item for item in value if isinstance(item, Mapping)] if isinstance(value, list) else []


def text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def optional_text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def integer(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def identifier(value: Any) -> str:
    """An id GitHub sends as a number (REST) or a string (GraphQL node ids)."""
    if isinstance(value, bool):
        return ""
    return str(value) if isinstance(value, int | str) else ""


def person(user: Any, association: Any = None) -> Person:
    return Person(
        login=optional_text(mapping(user).get("login")), association=optional_text(association)
    )


def repository(data: Mapping[str, Any]) -> RepositoryInfo:
    return RepositoryInfo(
        repository=text(data.get("full_name")),
        default_branch=text(data.get("default_branch")) or "main",
        clone_url=text(data.get("clone_url")),
        web_url=text(data.get("html_url")),
        private=data.get("private") is True,
    )


def pull_request(repository_name: str, data: Mapping[str, Any]) -> PullRequestInfo:
    head, base = mapping(data.get("head")), mapping(data.get("base"))
    mergeable = data.get("mergeable")
    return PullRequestInfo(
        repository=repository_name,
        number=integer(data.get("number")) or 0,
        url=text(data.get("html_url")),
        title=text(data.get("title")),
        body=text(data.get("body")),
        state=_pull_request_state(data),
        draft=data.get("draft") is True,
        head_branch=text(head.get("ref")),
        head_sha=text(head.get("sha")),
        base_branch=text(base.get("ref")),
        author=person(data.get("user"), data.get("author_association")),
        labels=tuple(text(label.get("name")) for label in items(data.get("labels"))),
        mergeable=mergeable if isinstance(mergeable, bool) else None,
        merge_commit_sha=optional_text(data.get("merge_commit_sha"))
        if data.get("merged")
        else None,
    )


def _pull_request_state(data: Mapping[str, Any]) -> PullRequestState:
    if data.get("merged") is True or data.get("merged_at"):
        return PullRequestState.MERGED
    if data.get("state") == "open":
        return PullRequestState.OPEN
    return PullRequestState.CLOSED


def comment(data: Mapping[str, Any]) -> Comment:
    return Comment(
        id=identifier(data.get("id")),
        body=text(data.get("body")),
        author=person(data.get("user"), data.get("author_association")),
        url=text(data.get("html_url")),
    )


def review(data: Mapping[str, Any]) -> Review:
    return Review(
        id=identifier(data.get("id")),
        verdict=_VERDICTS.get(text(data.get("state")).upper(), ReviewVerdict.COMMENTED),
        body=text(data.get("body")),
        author=person(data.get("user"), data.get("author_association")),
        commit_sha=optional_text(data.get("commit_id")),
        url=text(data.get("html_url")),
    )


def check_run(data: Mapping[str, Any]) -> Check:
    if data.get("status") == "completed":
        state = _CONCLUSIONS.get(text(data.get("conclusion")), CheckState.FAILURE)
    else:
        state = CheckState.PENDING
    output = mapping(data.get("output"))
    job_id = identifier(data.get("id"))
    return Check(
        name=text(data.get("name")),
        state=state,
        # An Actions job's id is its check run's id: that is what the job log endpoint takes.
        job_id=job_id if _is_actions_run(data) and job_id else None,
        details_url=optional_text(data.get("details_url")) or optional_text(data.get("html_url")),
        summary=text(output.get("title")) or text(output.get("summary")),
    )


def _is_actions_run(data: Mapping[str, Any]) -> bool:
    return mapping(data.get("app")).get("slug") == "github-actions"


def commit_status(data: Mapping[str, Any]) -> Check:
    return Check(
        name=text(data.get("context")),
        state=_STATUSES.get(text(data.get("state")), CheckState.PENDING),
        job_id=None,
        details_url=optional_text(data.get("target_url")),
        summary=text(data.get("description")),
    )


def latest_checks(
    check_runs: Iterable[Mapping[str, Any]], statuses: Iterable[Mapping[str, Any]]
) -> list[Check]:
    """One check per name: the newest check run (highest id), else the newest status.

    GitHub lists commit statuses newest first; a re-run check run gets a new, higher id.
    """
    newest_runs: dict[str, Mapping[str, Any]] = {}
    for run in check_runs:
        name = text(run.get("name"))
        known = newest_runs.get(name)
        if known is None or (integer(run.get("id")) or 0) > (integer(known.get("id")) or 0):
            newest_runs[name] = run
    checks = {name: check_run(run) for name, run in newest_runs.items()}
    for status in statuses:
        name = text(status.get("context"))
        if name not in checks:
            checks[name] = commit_status(status)
    return sorted(checks.values(), key=lambda check: check.name)


def review_thread(node: Mapping[str, Any]) -> ReviewThread:
    comments = mapping(node.get("comments"))
    return ReviewThread(
        id=identifier(node.get("id")),
        resolved=node.get("isResolved") is True,
        outdated=node.get("isOutdated") is True,
        path=optional_text(node.get("path")),
        line=integer(node.get("line")),
        comments=tuple(thread_comment(item) for item in items(comments.get("nodes"))),
    )


def thread_comment(node: Mapping[str, Any]) -> ThreadComment:
    return ThreadComment(
        id=identifier(node.get("id")),
        body=text(node.get("body")),
        author=person(node.get("author"), node.get("authorAssociation")),
    )
