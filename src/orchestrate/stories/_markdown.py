"""The markdown both story formats share: lines, story bodies, titles and errors.

Epic files (``bmad.py``) and single-story files (``story_file.py``) are read line by
line; a line in a fenced code block (``` or ~~~) is never markup. A story's body is
its description plus its ``- [ ]``/``- [x]`` acceptance criteria, and every problem is
a ``ValidationFailed`` whose message starts with ``file:line:``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from orchestrate.core.errors import ValidationFailed
from orchestrate.stories.models import CRITERION_MAX_LENGTH, TITLE_MAX_LENGTH, AcceptanceCriterion

HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*$")
CHECKBOX = re.compile(r"^\s*[-*+]\s+\[([ xX])\](?:\s+(.*?))?\s*$")
_CRITERIA_HEADING = re.compile(r"^Acceptance\s+Criteria\s*:?$", re.IGNORECASE)
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s")
_FENCE = re.compile(r"^\s*(```|~~~)")


@dataclass(frozen=True)
class Line:
    number: int
    text: str
    is_code: bool  # inside a fence, or a fence delimiter: never markup


def parse_error(file: str, line: int, problem: str) -> ValidationFailed:
    return ValidationFailed(f"{file}:{line}: {problem}", file=file, line=line)


def scan(text: str) -> Iterator[Line]:
    """Numbered lines, each marked when it belongs to a fenced code block."""
    in_fence = False
    for number, raw in enumerate(text.removeprefix("\ufeff").splitlines(), start=1):
        fence = _FENCE.match(raw) is not None
        yield Line(number, raw.rstrip(), in_fence or fence)
        if fence:
            in_fence = not in_fence


class Body:
    """Collects one story's description lines and checkboxes."""

    def __init__(self, file: str, criteria_heading_levels: tuple[int, ...]) -> None:
        self.file = file
        self.criteria_heading_levels = criteria_heading_levels
        self.lines: list[str] = []
        self.criteria: list[AcceptanceCriterion] = []
        self._continues_criterion = False

    def add(self, line: Line) -> None:
        if line.is_code:
            self._text(line.text)
            return
        checkbox = CHECKBOX.match(line.text)
        if checkbox:
            text = " ".join((checkbox.group(2) or "").split())
            if not text:
                raise parse_error(self.file, line.number, "checkbox without text")
            self._criterion(line, AcceptanceCriterion(text, checkbox.group(1) != " "))
            return
        if self._continues_criterion and _is_continuation(line.text):
            last = self.criteria.pop()
            text = f"{last.text} {line.text.strip()}"
            self._criterion(line, AcceptanceCriterion(text, last.done))
            return
        heading = HEADING.match(line.text)
        if (
            heading
            and len(heading.group(1)) in self.criteria_heading_levels
            and _CRITERIA_HEADING.match(heading.group(2))
        ):
            self._continues_criterion = False
            return
        self._text(line.text)

    def _criterion(self, line: Line, criterion: AcceptanceCriterion) -> None:
        if len(criterion.text) > CRITERION_MAX_LENGTH:
            raise parse_error(
                self.file,
                line.number,
                f"acceptance criterion longer than {CRITERION_MAX_LENGTH} characters",
            )
        self.criteria.append(criterion)
        self._continues_criterion = True

    def _text(self, text: str) -> None:
        self._continues_criterion = False
        self.lines.append(text)

    @property
    def description(self) -> str:
        return "\n".join(self.lines).strip("\n")


def _is_continuation(text: str) -> bool:
    return text[:1] in (" ", "\t") and bool(text.strip()) and not _LIST_ITEM.match(text)


def title_or_fail(file: str, line: int, heading: str, title: str | None, example: str) -> str:
    cleaned = " ".join((title or "").split())
    if not cleaned:
        raise parse_error(file, line, f"heading '{heading}' has no title; write '{example}'")
    if len(cleaned) > TITLE_MAX_LENGTH:
        raise parse_error(
            file, line, f"title of '{heading}' is longer than {TITLE_MAX_LENGTH} characters"
        )
    return cleaned


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ValidationFailed(f"{path}: not UTF-8 text", file=str(path)) from None
    except OSError as error:
        raise ValidationFailed(f"{path}: cannot read ({error.strerror})", file=str(path)) from None
