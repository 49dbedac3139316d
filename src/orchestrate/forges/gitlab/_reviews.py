"""Reviews on GitLab: approvals, plus notes that say what they conclude.

GitLab CE has approvals but no review object and no writable "changes requested" state
(the reviewer state ``requested_changes`` of GitLab 16.9+ can be read through
``/reviewers`` but not set through the API). So a review Orchestrate submits is:

- APPROVED: an approval pinned to the reviewed head (``POST …/approve`` with ``sha``),
  plus a note when the review has a body;
- CHANGES_REQUESTED: the reviewer's approval withdrawn (``POST …/unapprove``) and a
  **resolvable discussion** saying what to change: it shows as an unresolved thread,
  blocks merging where the project requires threads resolved, and the shepherd fixes,
  answers and resolves it like any review thread. Once resolved it reads back as
  DISMISSED;
- COMMENTED: a plain note.

Each note and discussion carries a hidden marker (an HTML comment GitLab does not
render) naming the verdict and the reviewed commit; ``list_reviews`` reads reviews
back from approvals, marked notes and the ``requested_changes`` reviewer state. The
marker is hostile input like any text: it only says what a note's author concluded,
and the author is GitLab's, not the marker's.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from orchestrate.forges.client import LineComment, Review, ReviewVerdict
from orchestrate.forges.gitlab._convert import (
    Document,
    documents,
    integer,
    mapping,
    person,
    text,
)

_MARKER = re.compile(
    r"<!-- orchestrate:review (?P<verdict>approved|changes_requested|commented)"
    r"(?: sha=(?P<sha>[0-9a-fA-F]{7,64}))? -->\s*\Z"
)
_HEADINGS = {
    ReviewVerdict.APPROVED: "**Approved**",
    ReviewVerdict.CHANGES_REQUESTED: "**Changes requested**",
}


@dataclass(frozen=True)
class Marked:
    """What a note's marker says: its verdict and the commit it reviewed."""

    verdict: ReviewVerdict
    commit_sha: str | None


def review_note(verdict: ReviewVerdict, body: str, commit_sha: str | None) -> str:
    """The text of the note or discussion that carries a review."""
    parts = [part for part in (_HEADINGS.get(verdict), body.strip()) if part]
    sha = f" sha={commit_sha}" if commit_sha else ""
    parts.append(f"<!-- orchestrate:review {verdict.value}{sha} -->")
    return "\n\n".join(parts)


def read_marker(body: str) -> Marked | None:
    """The review a note carries, or None for an ordinary note."""
    found = _MARKER.search(body)
    if found is None:
        return None
    return Marked(ReviewVerdict(found["verdict"]), found["sha"])


def review_body(body: str) -> str:
    """The review's own words: without the marker and the heading we put on it."""
    words = _MARKER.sub("", body).strip()
    for heading in _HEADINGS.values():
        words = words.removeprefix(heading).strip()
    return words


def positioned(comment: LineComment, refs: Document) -> dict[str, Any]:
    """A discussion on ``comment``'s line of the merge request's current diff."""
    return {
        "body": comment.body,
        "position": {
            "position_type": "text",
            "base_sha": text(refs, "base_sha"),
            "start_sha": text(refs, "start_sha"),
            "head_sha": text(refs, "head_sha"),
            "old_path": comment.path,
            "new_path": comment.path,
            "new_line": comment.line,
        },
    }


def summary(comments: Sequence[LineComment]) -> str:
    """The words of a review that has only line comments."""
    return f"{len(comments)} comment(s) on the diff." if comments else ""


def note_review(note: Document, verdict: ReviewVerdict, url: str) -> Review:
    marked = read_marker(text(note, "body"))
    note_id = integer(note, "id")
    return Review(
        id=str(note_id),
        verdict=verdict,
        body=review_body(text(note, "body")),
        author=person(mapping(note, "author")),
        commit_sha=None if marked is None else marked.commit_sha,
        url=f"{url}#note_{note_id}",
    )


def marked_review(discussion: Document, url: str) -> Review | None:
    """The review a discussion's first note carries, None for any other discussion."""
    notes = documents(discussion.get("notes"))
    if not notes or (marked := read_marker(text(notes[0], "body"))) is None:
        return None
    verdict = marked.verdict
    if verdict is ReviewVerdict.CHANGES_REQUESTED and notes[0].get("resolved") is True:
        verdict = ReviewVerdict.DISMISSED  # its thread was resolved: the request is met
    return note_review(notes[0], verdict, url)


_STATE_KINDS = frozenset({"approval", "reviewer"})


def is_recorded_by_gitlab(review: Review) -> bool:
    """Whether GitLab itself holds the review's verdict (an approval, a reviewer's state),
    rather than a note's marker, which anyone able to comment can write. GitLab lets only
    those allowed to approve a merge request approve it, so such a verdict is a member's."""
    kind, separator, _ = review.id.partition(":")
    return bool(separator) and kind in _STATE_KINDS


def state_review(kind: str, entry: Document, verdict: ReviewVerdict, url: str) -> Review:
    """A review known only as a state: an approval, or a reviewer's GitLab state."""
    author = person(mapping(entry, "user"))
    return Review(
        id=f"{kind}:{author.login}",
        verdict=verdict,
        body="",
        author=author,
        commit_sha=None,
        url=url,
    )
