"""Read a single story written as its own markdown file (``story create --from-file``).

The format (described with an example in ``docs/stories.md``)::

    ---
    epic: 1
    priority: high
    labels: [backend, security]
    assignee: ada
    ---

    # Lock accounts after repeated failed sign-ins
    What the story is about.

    ## Acceptance Criteria
    - [ ] The sixth attempt within ten minutes is refused

The YAML front matter is optional and accepts only the keys in ``STORY_FILE_KEYS``;
the first non-blank line after it must be the ``# Title`` heading. Below the title,
description and checkboxes are read as in a story of an epic file (see ``bmad.py``),
and an ``Acceptance Criteria`` heading of any level below the title is dropped. Every
problem raises ``ValidationFailed`` whose message starts with ``file:line:``. Nothing
here touches the database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml.error import MarkedYAMLError, YAMLError

from orchestrate.core.bounded_yaml import FRONT_MATTER_LIMITS, load_bounded
from orchestrate.core.errors import ValidationFailed
from orchestrate.stories._markdown import (
    HEADING,
    Body,
    Line,
    parse_error,
    read_text,
    scan,
    title_or_fail,
)
from orchestrate.stories.models import AcceptanceCriterion, Priority

STORY_FILE_KEYS = ("epic", "priority", "labels", "assignee")

_FRONT_MATTER_KEY = re.compile(r"^([A-Za-z_][\w-]*)\s*:")


@dataclass(frozen=True)
class StoryFile:
    """A story written as its own markdown file, for ``story create --from-file``."""

    title: str
    description: str
    acceptance_criteria: tuple[AcceptanceCriterion, ...]
    epic: str | None = None
    priority: Priority | None = None
    labels: tuple[str, ...] | None = None
    assignee: str | None = None


def parse_story_file(text: str, file: str) -> StoryFile:
    """Parse a single story: optional YAML front matter, a '# Title', description, boxes."""
    lines = list(scan(text))
    front = _FrontMatter(file)
    if lines and not lines[0].is_code and lines[0].text == "---":
        lines = front.load(lines)
    title: str | None = None
    body = Body(file, criteria_heading_levels=(2, 3, 4, 5, 6))
    for line in lines:
        heading = None if line.is_code else HEADING.match(line.text)
        if title is None:
            if heading and len(heading.group(1)) == 1:
                title = title_or_fail(file, line.number, "#", heading.group(2), "# Title")
            elif line.text.strip():
                raise parse_error(
                    file, line.number, f"expected the title heading '# Title', found {line.text!r}"
                )
            continue
        body.add(line)
    if title is None:
        raise parse_error(file, 1, "no title; start the story with a '# Title' heading")
    return StoryFile(
        title=title,
        description=body.description,
        acceptance_criteria=tuple(body.criteria),
        epic=front.text("epic"),
        priority=front.priority(),
        labels=front.labels(),
        assignee=front.text("assignee"),
    )


def read_story_file(path: Path) -> StoryFile:
    return parse_story_file(read_text(path), str(path))


class _FrontMatter:
    """The YAML block between ``---`` lines, with the line of each key for error messages."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.data: dict[str, Any] = {}
        self.key_lines: dict[str, int] = {}

    def load(self, lines: list[Line]) -> list[Line]:
        """Read the front matter from ``lines``; returns the lines after it."""
        end = next((i for i, line in enumerate(lines[1:], 1) if line.text in ("---", "...")), None)
        if end is None:
            raise parse_error(self.file, 1, "front matter opened with '---' is never closed")
        self.data = self._parse_yaml(lines[1:end])
        for line in lines[1:end]:
            key = _FRONT_MATTER_KEY.match(line.text)
            if key:
                self.key_lines.setdefault(key.group(1), line.number)
        unknown = [key for key in self.data if key not in STORY_FILE_KEYS]
        if unknown:
            known = ", ".join(STORY_FILE_KEYS)
            raise self._error(
                unknown[0], f"unknown front matter key {unknown[0]!r}; known keys: {known}"
            )
        return lines[end + 1 :]

    def _parse_yaml(self, lines: list[Line]) -> dict[str, Any]:
        source = "\n".join(line.text for line in lines)
        try:
            data = load_bounded(source, typ="safe", limits=FRONT_MATTER_LIMITS)
        except MarkedYAMLError as error:
            mark = error.problem_mark or error.context_mark
            line = (mark.line + 2) if mark is not None else 1
            raise parse_error(
                self.file, line, f"invalid YAML front matter: {error.problem}"
            ) from None
        except YAMLError as error:
            raise parse_error(self.file, 1, f"invalid YAML front matter: {error}") from None
        if data is not None and not isinstance(data, dict):
            raise parse_error(
                self.file, 2, "front matter must be a mapping such as 'priority: high'"
            )
        return {str(key): value for key, value in (data or {}).items()}

    def text(self, key: str) -> str | None:
        value = self.data.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise self._error(key, f"{key} must be text, got {value!r}")
        return str(value)

    def priority(self) -> Priority | None:
        value = self.text("priority")
        if value is None:
            return None
        try:
            return Priority(value.strip().lower())
        except ValueError:
            choices = ", ".join(p.value for p in Priority)
            raise self._error(
                "priority", f"unknown priority {value!r}; use one of: {choices}"
            ) from None

    def labels(self) -> tuple[str, ...] | None:
        if "labels" not in self.data:
            return None
        value = self.data["labels"]
        if value is None:
            return ()
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            return tuple(value)
        raise self._error("labels", "labels must be a list of text, e.g. [backend, auth]")

    def _error(self, key: str, problem: str) -> ValidationFailed:
        return parse_error(self.file, self.key_lines.get(key, 1), problem)
