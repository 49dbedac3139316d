"""Submitting and reading reviews on GitLab, synchronously (the client runs these in a
thread). What a review becomes is the convention of ``_reviews``."""

from __future__ import annotations

from collections.abc import Sequence

import gitlab
from gitlab.exceptions import GitlabAuthenticationError, GitlabError
from gitlab.v4.objects import ProjectMergeRequest

from orchestrate.core.errors import Conflict
from orchestrate.forges.client import LineComment, Review, ReviewVerdict
from orchestrate.forges.gitlab import _convert as convert
from orchestrate.forges.gitlab._reviews import (
    marked_review,
    note_review,
    positioned,
    review_note,
    state_review,
    summary,
)


class Reviewing:
    """The review calls of one GitLab client (it remembers who the token belongs to)."""

    def __init__(self, api: gitlab.Gitlab) -> None:
        self._api = api
        self._username: str | None = None

    def read(self, merge_request: ProjectMergeRequest, url: str) -> list[Review]:
        """Marked notes (oldest first), then approvals, then reviewers whose GitLab
        state is ``requested_changes`` (set in GitLab's own review UI)."""
        reviews = [
            review
            for discussion in merge_request.discussions.list(get_all=True)
            if (review := marked_review(discussion.attributes, url)) is not None
        ]
        for entry in self._approvals(merge_request):
            reviews.append(state_review("approval", entry, ReviewVerdict.APPROVED, url))
        for entry in self._reviewers(merge_request):
            if convert.text(entry, "state") == "requested_changes":
                verdict = ReviewVerdict.CHANGES_REQUESTED
                reviews.append(state_review("reviewer", entry, verdict, url))
        return reviews

    def submit(
        self,
        merge_request: ProjectMergeRequest,
        url: str,
        *,
        verdict: ReviewVerdict,
        body: str,
        comments: Sequence[LineComment],
        commit_sha: str | None,
    ) -> Review:
        """``merge_request`` as fetched now: its head and ``diff_refs`` place the review."""
        head = convert.text(merge_request.attributes, "sha")
        if commit_sha is not None and commit_sha != head:
            raise Conflict(
                f"The merge request {url} moved to {head[:12]} since {commit_sha[:12]} "
                f"was reviewed; "
                f"review the new head"
            )
        refs = convert.mapping(merge_request.attributes, "diff_refs")
        for line_comment in comments:
            merge_request.discussions.create(positioned(line_comment, refs))
        words = body.strip() or summary(comments)
        text = review_note(verdict, words, head)
        if verdict is ReviewVerdict.APPROVED:
            self._approve(merge_request, head)
            if not words:
                approver = {"user": {"username": self.current_username()}}
                return state_review("approval", approver, verdict, url)
        elif verdict is ReviewVerdict.CHANGES_REQUESTED:
            self._unapprove(merge_request)
            discussion = merge_request.discussions.create({"body": text})
            first = convert.documents(discussion.attributes.get("notes"))[:1] or [{}]
            return note_review(first[0], verdict, url)
        note = merge_request.notes.create({"body": text})
        return note_review(note.attributes, verdict, url)

    def _approve(self, merge_request: ProjectMergeRequest, head: str) -> None:
        try:
            merge_request.approve(sha=head)
        except GitlabAuthenticationError:
            # GitLab answers 401 to an approval by someone who already approved.
            approvers = {
                convert.text(convert.mapping(entry, "user"), "username")
                for entry in self._approvals(merge_request)
            }
            if self.current_username() not in approvers:
                raise

    @staticmethod
    def _unapprove(merge_request: ProjectMergeRequest) -> None:
        try:
            merge_request.unapprove()
        except GitlabError as error:
            if error.response_code != 404:  # 404: this user had not approved
                raise

    def _approvals(self, merge_request: ProjectMergeRequest) -> list[convert.Document]:
        answer = self._api.http_get(f"{_path(merge_request)}/approvals")
        approvals = answer if isinstance(answer, dict) else {}
        return convert.documents(approvals.get("approved_by"))

    def _reviewers(self, merge_request: ProjectMergeRequest) -> list[convert.Document]:
        try:
            return convert.documents(self._api.http_get(f"{_path(merge_request)}/reviewers"))
        except GitlabError as error:
            if error.response_code == 404:  # an instance too old to have reviewer states
                return []
            raise

    def current_username(self) -> str:
        if self._username is None:
            self._api.auth()
            user = self._api.user
            self._username = "" if user is None else convert.text(user.attributes, "username")
        return self._username


def _path(merge_request: ProjectMergeRequest) -> str:
    return f"{merge_request.manager.path}/{merge_request.encoded_id}"
