"""The verdict a code reviewer gives in its final summary, read as hostile input.

The code-reviewer prompt asks for this shape (``agents/prompts/code-reviewer.md``)::

    Verdict: request changes
    <what was reviewed, findings by severity …>
    Comment: src/calc.py:2: blocker: add() subtracts; return a + b.
    Comment: tests/test_calc.py:5: should-fix: also test negative numbers.

- the first line that starts with ``Verdict:`` decides: ``approve`` (also
  ``approve with suggestions``), ``request changes`` or ``comment``;
- every ``Comment: PATH:LINE: TEXT`` line becomes a comment on that line of the new
  file; the rest of the summary is the review's body.

The summary is model output, and a model reads untrusted code: nothing in it is
trusted. Everything is bounded (summary, body, each comment, how many comments), control
characters are dropped, a path must be a plain relative path inside the repository, a
line a positive number. Text goes to the forge inside a fenced block (``fenced``), where
Markdown renders no link, image, mention or HTML. A summary without a readable verdict
gives ``comment``, with a note saying so, never ``approve``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

MAX_SUMMARY_LENGTH: Final = 60_000
MAX_BODY_LENGTH: Final = 20_000
MAX_COMMENTS: Final = 30
MAX_COMMENT_LENGTH: Final = 2_000
MAX_PATH_LENGTH: Final = 300
MAX_LINE: Final = 1_000_000

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
_FENCE = re.compile(r"`{3,}|~{3,}")
_VERDICT = re.compile(
    r"^\s*\**\s*verdict\s*\**\s*:\s*\**\s*(?P<value>[a-z _-]{1,40}?)\s*\**\s*\.?$", re.I
)
_COMMENT = re.compile(
    r"^\s*comment\s*:\s*(?P<path>[^:\n]{1,400}):(?P<line>\d{1,9})\s*:\s*(?P<text>.*)$", re.I
)
_SAFE_PATH = re.compile(r"^[A-Za-z0-9._@+\-/ ]+$")


class Verdict(StrEnum):
    APPROVE = "approve"
    REQUEST_CHANGES = "request_changes"
    COMMENT = "comment"


_VERDICTS: Final = {
    "approve": Verdict.APPROVE,
    "approved": Verdict.APPROVE,
    "approve with suggestions": Verdict.APPROVE,
    "lgtm": Verdict.APPROVE,
    "request changes": Verdict.REQUEST_CHANGES,
    "request_changes": Verdict.REQUEST_CHANGES,
    "request-changes": Verdict.REQUEST_CHANGES,
    "changes requested": Verdict.REQUEST_CHANGES,
    "comment": Verdict.COMMENT,
}


@dataclass(frozen=True)
class ReviewComment:
    """A comment on one line of the pull request's new file."""

    path: str
    line: int
    body: str


@dataclass(frozen=True)
class ParsedReview:
    verdict: Verdict
    body: str
    comments: tuple[ReviewComment, ...]
    has_verdict: bool
    """False: no readable ``Verdict:`` line; the verdict is ``comment``."""
    dropped_comments: int = 0
    """``Comment:`` lines left out: beyond the limit, or with an unsafe path."""


def parse_review(summary: str | None) -> ParsedReview:
    """The verdict, body and line comments of a reviewer's final summary."""
    text = _clean((summary or "")[:MAX_SUMMARY_LENGTH])
    verdict: Verdict | None = None
    comments: list[ReviewComment] = []
    dropped = 0
    body_lines: list[str] = []
    for line in text.splitlines():
        if verdict is None and (match := _VERDICT.match(line)):
            verdict = _VERDICTS.get(" ".join(match["value"].lower().split()))
            if verdict is not None:
                continue
        if match := _COMMENT.match(line):
            comment = _comment(match["path"], match["line"], match["text"])
            if comment is None or len(comments) >= MAX_COMMENTS:
                dropped += 1
            else:
                comments.append(comment)
            continue
        body_lines.append(line)
    body = _bounded("\n".join(body_lines).strip(), MAX_BODY_LENGTH)
    return ParsedReview(
        verdict=verdict or Verdict.COMMENT,
        body=body,
        comments=tuple(comments),
        has_verdict=verdict is not None,
        dropped_comments=dropped,
    )


def _comment(path: str, line: str, text: str) -> ReviewComment | None:
    path = path.strip().strip("`").removeprefix("./")
    number = int(line)
    body = _bounded(text.strip(), MAX_COMMENT_LENGTH)
    if not body or not 1 <= number <= MAX_LINE or not is_safe_path(path):
        return None
    return ReviewComment(path=path, line=number, body=body)


def is_safe_path(path: str) -> bool:
    """A plain relative path inside the repository: no ``..``, no absolute path, no
    backslash or odd characters, bounded."""
    if not path or len(path) > MAX_PATH_LENGTH or not _SAFE_PATH.match(path):
        return False
    if path.startswith("/") or path.endswith("/"):
        return False
    parts = path.split("/")
    return all(part not in ("", ".", "..") and part.strip() == part for part in parts)


def fenced(text: str) -> str:
    """``text`` as a fenced block: shown verbatim, no Markdown rendered."""
    return "```text\n" + _FENCE.sub("''", text) + "\n```"


def _clean(text: str) -> str:
    return _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def _bounded(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
