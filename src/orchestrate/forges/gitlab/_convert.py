"""GitLab's JSON (API v4) read into the forge-neutral types of ``forges.client``.

Everything here is hostile input: a missing or odd field becomes ``None`` or empty
text, never an exception. This is the one module that reads GitLab's documents, so
``Any`` stops here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from orchestrate.forges.client import (
    Check,
    CheckState,
    Comment,
    PullRequestInfo,
    PullRequestState,
    RepositoryInfo,
    ReviewThread,
    ThreadComment,
)
from orchestrate.forges.models import Person

Document = Mapping[str, Any]

# GitLab's own rule (MergeRequest::DRAFT_REGEX): a title starting with one of these
# marks the merge request as a draft, whatever the version.
_DRAFT_PREFIX = re.compile(r"^\s*(\[draft\]|\(draft\)|draft:|draft\s*-|wip:|\[wip\])\s*", re.I)
DRAFT_TITLE_PREFIX = "Draft: "

_STATES = {
    "opened": PullRequestState.OPEN,
    "locked": PullRequestState.OPEN,  # a merge in progress
    "merged": PullRequestState.MERGED,
    "closed": PullRequestState.CLOSED,
}
_STILL_CHECKING = frozenset(
    {"checking", "unchecked", "preparing", "approvals_syncing", "cannot_be_merged_recheck"}
)
_CONFLICTING = frozenset({"conflict", "broken_status", "cannot_be_merged"})

_JOB_STATES = {
    "success": CheckState.SUCCESS,
    "failed": CheckState.FAILURE,
    "canceled": CheckState.CANCELLED,
    "canceling": CheckState.CANCELLED,
    "skipped": CheckState.NEUTRAL,
    # A manual job waits for a person to start it; it neither passes nor blocks.
    "manual": CheckState.NEUTRAL,
}
"""Job status → check state; every other status (created, pending, running, preparing,
waiting_for_resource, scheduled, waiting_for_callback, or one GitLab adds later) is
PENDING. A failed job with ``allow_failure`` is NEUTRAL: GitLab lets the pipeline pass."""


def text(data: Document, key: str) -> str:
    value = data.get(key)
    return value if isinstance(value, str) else ""


def optional_text(data: Document, key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) and value else None


def integer(data: Document, key: str) -> int | None:
    value = data.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def mapping(data: Document, key: str) -> Document:
    value = data.get(key)
    return value if isinstance(value, Mapping) else {}


def documents(value: Any) -> list[Document]:
    """The objects of a JSON list, skipping anything that is not an object."""
    if not isinstance(value, Iterable) or isinstance(value, str | bytes | Mapping):
        return []
    return [item for item in value if isinstance(item, Mapping)]


def person(user: Document) -> Person:
    # GitLab has no author_association; trust is decided from project roles elsewhere.
    return Person(login=optional_text(user, "username"))


def is_draft(data: Document) -> bool:
    for key in ("draft", "work_in_progress"):  # ``draft`` since GitLab 13.x
        if isinstance(data.get(key), bool):
            return bool(data[key])
    return bool(_DRAFT_PREFIX.match(text(data, "title")))


def plain_title(title: str) -> str:
    """The title without the draft prefix GitLab keeps in it."""
    return _DRAFT_PREFIX.sub("", title, count=1)


def repository_info(data: Document) -> RepositoryInfo:
    return RepositoryInfo(
        repository=text(data, "path_with_namespace"),
        default_branch=text(data, "default_branch"),
        clone_url=text(data, "http_url_to_repo"),
        web_url=text(data, "web_url"),
        private=text(data, "visibility") != "public",
    )


def pull_request_info(repository: str, data: Document) -> PullRequestInfo:
    state = _STATES.get(text(data, "state"), PullRequestState.CLOSED)
    draft = is_draft(data)
    title = text(data, "title")
    merge_sha = optional_text(data, "merge_commit_sha") or optional_text(data, "squash_commit_sha")
    if state is PullRequestState.MERGED and merge_sha is None:
        merge_sha = optional_text(data, "sha")  # a fast-forward merge makes no commit
    return PullRequestInfo(
        repository=repository,
        number=integer(data, "iid") or 0,
        url=text(data, "web_url"),
        title=plain_title(title) if draft else title,
        body=text(data, "description"),
        state=state,
        draft=draft,
        head_branch=text(data, "source_branch"),
        head_sha=text(data, "sha"),
        base_branch=text(data, "target_branch"),
        author=person(mapping(data, "author")),
        labels=tuple(label for label in data.get("labels") or () if isinstance(label, str)),
        mergeable=mergeable(data),
        merge_commit_sha=merge_sha,
    )


def mergeable(data: Document) -> bool | None:
    """False on conflicts, None while GitLab is still checking, else True."""
    if data.get("has_conflicts") is True:
        return False
    statuses = {text(data, "detailed_merge_status"), text(data, "merge_status")}
    if statuses & _CONFLICTING:
        return False
    if statuses & _STILL_CHECKING:
        return None
    return True


def head_sha(data: Document) -> str:
    """The head the merge request's current diff ends at."""
    return text(mapping(data, "diff_refs"), "head_sha") or text(data, "sha")


def comment(note: Document, url: str) -> Comment:
    note_id = integer(note, "id")
    return Comment(
        id=str(note_id),
        body=text(note, "body"),
        author=person(mapping(note, "author")),
        url=f"{url}#note_{note_id}",
    )


def is_conversation_note(note: Document) -> bool:
    """A plain comment: written by someone (not a system note) and not in a thread."""
    return note.get("system") is not True and note.get("type") is None


def thread_comment(note: Document) -> ThreadComment:
    return ThreadComment(
        id=str(integer(note, "id")),
        body=text(note, "body"),
        author=person(mapping(note, "author")),
    )


def review_thread(discussion: Document, current_head: str) -> ReviewThread | None:
    """A resolvable discussion as a thread; None for anything else (plain comments,
    system notes). ``outdated``: GitLab moves a thread's position along with each push
    that leaves its line alone, so one still on an older head is on a changed line."""
    notes = [note for note in documents(discussion.get("notes")) if note.get("system") is not True]
    resolvable = [note for note in notes if note.get("resolvable") is True]
    if discussion.get("individual_note") is True or not resolvable:
        return None
    position = mapping(notes[0], "position")
    position_head = text(position, "head_sha")
    return ReviewThread(
        id=text(discussion, "id"),
        resolved=all(note.get("resolved") is True for note in resolvable),
        outdated=bool(position_head) and bool(current_head) and position_head != current_head,
        path=optional_text(position, "new_path") or optional_text(position, "old_path"),
        line=integer(position, "new_line") or integer(position, "old_line"),
        comments=tuple(thread_comment(note) for note in notes),
    )


def checks(jobs: Iterable[Document]) -> list[Check]:
    """One check per job name, the latest attempt (the highest id) of each."""
    latest: dict[str, Document] = {}
    for job in jobs:
        name = text(job, "name")
        if name not in latest or (integer(job, "id") or 0) > (integer(latest[name], "id") or 0):
            latest[name] = job
    return [_check(job) for job in sorted(latest.values(), key=lambda job: text(job, "name"))]


def _check(job: Document) -> Check:
    status = text(job, "status")
    state = _JOB_STATES.get(status, CheckState.PENDING)
    if state is CheckState.FAILURE and job.get("allow_failure") is True:
        state = CheckState.NEUTRAL
    summary = text(job, "stage")
    if reason := text(job, "failure_reason"):
        summary = f"{summary}: {reason}" if summary else reason
    job_id = integer(job, "id")
    return Check(
        name=text(job, "name"),
        state=state,
        job_id=None if job_id is None else str(job_id),
        details_url=optional_text(job, "web_url"),
        summary=summary,
    )
