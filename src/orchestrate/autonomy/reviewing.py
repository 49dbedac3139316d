"""The code reviewer's result as a real review on the pull request, through the forge.

The reviewer's final summary is parsed as hostile input (``review_format``); the review
goes to the forge with the reviewer's verdict and its line comments. Forges refuse some
reviews: GitHub answers 422 to approving or requesting changes on a pull request the
same account opened (Orchestrate opens its pull requests with the token it reviews
with), and to a line comment on a line outside the diff. Each refusal steps down once:

1. the verdict with the line comments;
2. a ``COMMENT`` review with the same line comments (the verdict stays in the body);
3. a ``COMMENT`` review with the line comments listed in the body.

A marker naming the reviewer agent in the body makes posting idempotent: a retried job
finds the review it posted before instead of posting a second.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import structlog

from orchestrate.autonomy.review_format import (
    ParsedReview,
    ReviewComment,
    Verdict,
    fenced,
    parse_review,
)
from orchestrate.core.errors import IntegrationError
from orchestrate.core.settings import Settings
from orchestrate.core.uow import UnitOfWork
from orchestrate.forges import service as forges
from orchestrate.forges.service import ReviewVerdict

log = structlog.get_logger(__name__)

_REFUSED = 422
_FORGE_VERDICTS = {
    Verdict.APPROVE: ReviewVerdict.APPROVED,
    Verdict.REQUEST_CHANGES: ReviewVerdict.CHANGES_REQUESTED,
    Verdict.COMMENT: ReviewVerdict.COMMENTED,
}
_SAY = {
    Verdict.APPROVE: "approve",
    Verdict.REQUEST_CHANGES: "request changes",
    Verdict.COMMENT: "comment",
}


@dataclass(frozen=True)
class PostedReview:
    verdict: Verdict
    """What the reviewer concluded."""
    posted_as: ReviewVerdict
    """What the forge took."""
    url: str
    comments: int


@dataclass(frozen=True)
class ReviewTarget:
    forge: str
    repository: str
    number: int
    head_sha: str | None
    agent_id: str
    story_name: str


def marker(agent_id: str) -> str:
    return f"<!-- orchestrate-review:{agent_id} -->"


def review_body(parsed: ParsedReview, target: ReviewTarget, *, listed: bool = False) -> str:
    """Our words around the reviewer's: who reviewed, the verdict, its text fenced."""
    lines = [
        f"**Automated review** of story {target.story_name} by the code-reviewer agent "
        f"`{target.agent_id}` (`orchestrate agent show {target.agent_id}`).",
        "",
        f"Verdict: **{_SAY[parsed.verdict]}**",
    ]
    if not parsed.has_verdict:
        lines.append("(The reviewer gave no readable `Verdict:` line; posted as a comment.)")
    if parsed.body:
        lines += ["", fenced(parsed.body)]
    if listed and parsed.comments:
        lines += ["", "Line comments (the forge refused them on the diff):"]
        for comment in parsed.comments:
            lines.append(fenced(f"{comment.path}:{comment.line}: {comment.body}"))
    if parsed.dropped_comments:
        lines += ["", f"{parsed.dropped_comments} line comment(s) left out (unsafe or too many)."]
    lines += ["", marker(target.agent_id)]
    return "\n".join(lines)


async def post_review(
    uow: UnitOfWork, settings: Settings, target: ReviewTarget, summary: str | None
) -> PostedReview:
    """Post the reviewer's verdict on the pull request (once per reviewer agent)."""
    parsed = parse_review(summary)
    async with forges.forge_client(uow, settings, target.forge) as client:
        for review in await client.list_reviews(target.repository, target.number):
            if marker(target.agent_id) in review.body:
                return PostedReview(parsed.verdict, review.verdict, review.url, 0)
        attempts = _attempts(parsed, target)
        for index, (verdict, body, comments) in enumerate(attempts):
            try:
                review = await client.submit_review(
                    target.repository,
                    target.number,
                    verdict=verdict,
                    body=body,
                    comments=cast("Sequence[Any]", [_line(c) for c in comments]),
                    commit_sha=target.head_sha,
                )
            except IntegrationError as error:
                if getattr(error, "status", None) != _REFUSED or index == len(attempts) - 1:
                    raise
                log.info(
                    "review_refused_stepping_down",
                    repository=target.repository,
                    number=target.number,
                    verdict=verdict.value,
                    reason=getattr(error, "reason", ""),
                )
                continue
            return PostedReview(parsed.verdict, review.verdict, review.url, len(comments))
    raise AssertionError("unreachable: the last attempt returns or raises")


def _attempts(
    parsed: ParsedReview, target: ReviewTarget
) -> list[tuple[ReviewVerdict, str, tuple[ReviewComment, ...]]]:
    wanted = _FORGE_VERDICTS[parsed.verdict]
    body = review_body(parsed, target)
    attempts = [(wanted, body, parsed.comments)]
    if wanted is not ReviewVerdict.COMMENTED:
        attempts.append((ReviewVerdict.COMMENTED, body, parsed.comments))
    if parsed.comments:
        attempts.append((ReviewVerdict.COMMENTED, review_body(parsed, target, listed=True), ()))
    return attempts


@dataclass(frozen=True)
class _Line:
    """What a forge client reads of a line comment (``path``, ``line``, ``body``): the
    forges capability's ``LineComment`` shape, which its service does not export yet."""

    path: str
    line: int
    body: str


def _line(comment: ReviewComment) -> _Line:
    return _Line(comment.path, comment.line, fenced(comment.body))
