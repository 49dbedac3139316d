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
from dataclasses import dataclass

from orchestrate.forges.client import ReviewVerdict

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
    text = _MARKER.sub("", body).strip()
    for heading in _HEADINGS.values():
        text = text.removeprefix(heading).strip()
    return text
