"""Rebasing and merging a merge request, synchronously (the client runs these in a thread).

Both act only on the head the caller expects. GitLab checks the head itself when
merging (``sha``; 409 otherwise) but not when rebasing, so ``rebase`` looks first.
Every refusal becomes ``MergeRefused`` carrying GitLab's own words; a bare
"405 Method Not Allowed" is completed with the merge request's ``detailed_merge_status``
(draft_status, discussions_not_resolved, ci_must_pass, not_approved, …), which says why.
"""

from __future__ import annotations

import time
from typing import Any

import gitlab
from gitlab.exceptions import GitlabError
from gitlab.utils import EncodedId
from gitlab.v4.objects import Project

from orchestrate.core.errors import Conflict
from orchestrate.forges.client import MergeMethod, MergeRefused, MergeResult, PullRequestState
from orchestrate.forges.gitlab import _convert as convert
from orchestrate.forges.gitlab._errors import merge_refusal, reason

# GitLab's answers when it will not merge: 405 not mergeable now (draft, closed, policy),
# 406/422 conflicts, 409 the head is not the given sha.
MERGE_REFUSALS = frozenset({405, 406, 409, 422})
REBASE_REFUSALS = frozenset({403, 405, 409, 422})


def rebase(
    project: Project,
    repository: str,
    number: int,
    *,
    expected_head_sha: str,
    poll_seconds: float,
    timeout_seconds: float,
) -> None:
    """Rebase onto the target branch (``PUT …/rebase``), then poll until it is done."""
    current = project.mergerequests.get(number).attributes
    require_head(repository, number, current, expected_head_sha)
    try:
        project.mergerequests.get(number, lazy=True).rebase()
    except GitlabError as error:
        if error.response_code in REBASE_REFUSALS:
            raise merge_refusal(f"rebase {repository}!{number}", error) from error
        raise
    deadline = time.monotonic() + timeout_seconds
    while True:
        data = project.mergerequests.get(number, include_rebase_in_progress=True).attributes
        if data.get("rebase_in_progress") is not True:
            if failure := convert.optional_text(data, "merge_error"):
                raise MergeRefused(
                    f"GitLab could not rebase {repository}!{number}: {failure}", reason=failure
                )
            return
        if time.monotonic() > deadline:
            raise Conflict(
                f"GitLab's rebase of {repository}!{number} still runs after "
                f"{timeout_seconds:.0f} s; look again later"
            )
        time.sleep(poll_seconds)


def merge(
    api: gitlab.Gitlab,
    project: Project,
    repository: str,
    number: int,
    *,
    method: MergeMethod,
    expected_head_sha: str,
    commit_title: str | None,
) -> MergeResult:
    options: dict[str, Any] = {"sha": expected_head_sha, "squash": method is MergeMethod.SQUASH}
    if commit_title:
        key = "squash_commit_message" if options["squash"] else "merge_commit_message"
        options[key] = commit_title
    # In the body: ProjectMergeRequest.merge() would put sha and squash in the query string.
    path = f"/projects/{EncodedId(repository)}/merge_requests/{number}/merge"
    try:
        answer = api.http_put(path, post_data=options)
    except GitlabError as error:
        if error.response_code not in MERGE_REFUSALS:
            raise
        raise _refusal(project, repository, number, error) from error
    data = answer if isinstance(answer, dict) else {}
    merged = convert.pull_request_info(repository, data)
    if merged.state is PullRequestState.MERGED:
        return MergeResult(True, merged.merge_commit_sha, "Merged")
    status = convert.text(data, "detailed_merge_status") or convert.text(data, "state")
    return MergeResult(False, None, f"GitLab accepted the merge but left it {status}")


def require_head(repository: str, number: int, data: convert.Document, expected: str) -> None:
    state = convert.text(data, "state")
    if state != "opened":
        raise MergeRefused(f"Merge request {repository}!{number} is {state}", reason=state)
    head = convert.text(data, "sha")
    if head != expected:
        moved = f"the head is {head}, not {expected}"
        raise MergeRefused(f"Merge request {repository}!{number}: {moved}", reason=moved)


def _refusal(project: Project, repository: str, number: int, error: GitlabError) -> MergeRefused:
    refusal = merge_refusal(f"merge {repository}!{number}", error)
    if error.response_code != 405:
        return refusal
    try:
        data = project.mergerequests.get(number).attributes
    except GitlabError:
        return refusal
    state = convert.text(data, "state")
    detail = state
    if state == "opened":
        detail = convert.text(data, "detailed_merge_status") or convert.text(data, "merge_status")
    if convert.is_draft(data):
        detail = "draft_status"
    return MergeRefused(f"{refusal.message} ({detail})", reason=f"{reason(error)}: {detail}")
