"""Read and write BMAD epic files: one epic and its stories per markdown file.

An epic file (the format is described with examples in ``docs/stories.md``)::

    # Epic 1: Accounts
    Why the epic exists.

    ## Story 1.1: Sign up with email
    What the story is about.

    ### Acceptance Criteria
    - [x] The form rejects an invalid address
    - [ ] A confirmation mail is sent

Level-1 headings name the epic (one per file), level-2 headings are stories numbered
``<epic>.<n>``, and ``- [ ]``/``- [x]`` (or ``*``/``+`` bullets, upper-case ``X``)
lines are acceptance criteria of the story they are in; an indented line right after
a checkbox continues its text. Everything else is description. Lines inside ``````
fences are always description. A story whose boxes are all ticked is done.

Parsing is strict because a silently misread plan is worse than an error: every
problem raises ``ValidationFailed`` whose message starts with ``file:line:`` and whose
context carries ``file`` and ``line``. Nothing here touches the database. Single-story
files are read by ``story_file.py``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from orchestrate.core.errors import ValidationFailed
from orchestrate.stories._markdown import (
    CHECKBOX,
    HEADING,
    Body,
    Line,
    parse_error,
    read_text,
    scan,
    title_or_fail,
)
from orchestrate.stories.models import AcceptanceCriterion, StoryStatus, all_checked

EPIC_FILE_PATTERN = "epic-*.md"

# After the number: a colon, full stop, hyphen, en dash or em dash, then the title.
_SEPARATOR = r"[:.\-\u2013\u2014]"
_EPIC_HEADING = re.compile(rf"^Epic\s+(\d+)\s*(?:{_SEPARATOR}\s*(.*))?$", re.IGNORECASE)
_STORY_HEADING = re.compile(rf"^Story\s+(\d+)\.(\d+)\s*(?:{_SEPARATOR}\s*(.*))?$", re.IGNORECASE)
_STORY_WORD = re.compile(r"^Story\b", re.IGNORECASE)


@dataclass(frozen=True)
class ParsedStory:
    key: str
    title: str
    description: str
    acceptance_criteria: tuple[AcceptanceCriterion, ...]
    line: int = field(default=0, compare=False)

    @property
    def status(self) -> StoryStatus:
        """The status a newly imported story starts in."""
        return StoryStatus.DONE if all_checked(self.acceptance_criteria) else StoryStatus.BACKLOG


@dataclass(frozen=True)
class ParsedEpic:
    key: str
    title: str
    description: str
    stories: tuple[ParsedStory, ...]
    file: str = field(default="", compare=False)
    line: int = field(default=0, compare=False)


def parse_epic(text: str, file: str) -> ParsedEpic:
    """Parse one epic file; ``file`` is only used to name it in error messages."""
    parser = _EpicParser(file)
    for line in scan(text):
        parser.feed(line)
    return parser.finish()


def read_epics(path: Path) -> tuple[ParsedEpic, ...]:
    """Parse one epic file, or every ``epic-*.md`` in a folder (in natural name order).

    All files are parsed before anything is returned, and two files defining the same
    epic number are refused, so a caller can import the result all or nothing.
    """
    epics: list[ParsedEpic] = []
    seen: dict[str, ParsedEpic] = {}
    for file in _epic_files(path):
        epic = parse_epic(read_text(file), str(file))
        if epic.key in seen:
            first = seen[epic.key]
            raise parse_error(
                epic.file,
                epic.line,
                f"epic {epic.key} is already defined in {first.file}:{first.line}",
            )
        seen[epic.key] = epic
        epics.append(epic)
    return tuple(epics)


def render_epic(epic: ParsedEpic) -> str:
    """The markdown ``parse_epic`` reads back as ``epic``: for exports and round-trip tests."""
    parts = [f"# Epic {epic.key}: {epic.title}\n"]
    if epic.description:
        parts.append(f"\n{epic.description}\n")
    for story in epic.stories:
        parts.append(f"\n## Story {story.key}: {story.title}\n")
        if story.description:
            parts.append(f"\n{story.description}\n")
        if story.acceptance_criteria:
            parts.append("\n### Acceptance Criteria\n\n")
            parts.extend(
                f"- [{'x' if item.done else ' '}] {item.text}\n"
                for item in story.acceptance_criteria
            )
    return "".join(parts)


class _EpicParser:
    def __init__(self, file: str) -> None:
        self.file = file
        self.epic_number: int | None = None
        self.epic_line = 0
        self.epic_title = ""
        self.epic_body = Body(file, criteria_heading_levels=())
        self.stories: list[tuple[str, str, int, Body]] = []
        self.story_lines: dict[str, int] = {}

    def feed(self, line: Line) -> None:
        heading = None if line.is_code else HEADING.match(line.text)
        if heading and len(heading.group(1)) == 1:
            self._epic_heading(line, heading.group(2))
        elif heading and len(heading.group(1)) == 2:
            self._story_heading(line, heading.group(2))
        elif self.epic_number is None:
            if line.text.strip():
                raise parse_error(
                    self.file,
                    line.number,
                    f"expected the epic heading '# Epic N: Title' first, found {line.text!r}",
                )
        elif self.stories:
            self.stories[-1][3].add(line)
        elif not line.is_code and CHECKBOX.match(line.text):
            raise parse_error(
                self.file,
                line.number,
                "checkbox outside any story; acceptance criteria belong under a "
                "'## Story N.M: Title' heading",
            )
        else:
            self.epic_body.add(line)

    def _epic_heading(self, line: Line, text: str) -> None:
        match = _EPIC_HEADING.match(text)
        if match is None:
            raise parse_error(
                self.file, line.number, f"expected '# Epic N: Title', found '# {text}'"
            )
        if self.epic_number is not None:
            raise parse_error(
                self.file,
                line.number,
                f"a second epic heading '# {text}' (the first is at line {self.epic_line}); "
                "put each epic in its own file",
            )
        number = int(match.group(1))
        heading = f"# Epic {number}"
        self.epic_title = title_or_fail(
            self.file, line.number, heading, match.group(2), f"{heading}: Title"
        )
        self.epic_number, self.epic_line = number, line.number

    def _story_heading(self, line: Line, text: str) -> None:
        if self.epic_number is None:
            raise parse_error(
                self.file,
                line.number,
                f"story heading '## {text}' comes before the epic heading '# Epic N: Title'",
            )
        match = _STORY_HEADING.match(text)
        if match is None:
            raise parse_error(self.file, line.number, self._malformed_story_heading(text))
        epic_number, story_number = int(match.group(1)), int(match.group(2))
        heading = f"## Story {epic_number}.{story_number}"
        if epic_number != self.epic_number:
            raise parse_error(
                self.file,
                line.number,
                f"story heading '{heading}' does not belong to epic {self.epic_number}",
            )
        key = f"{epic_number}.{story_number}"
        if key in self.story_lines:
            raise parse_error(
                self.file,
                line.number,
                f"story {key} is defined twice (first at line {self.story_lines[key]})",
            )
        title = title_or_fail(self.file, line.number, heading, match.group(3), f"{heading}: Title")
        self.story_lines[key] = line.number
        self.stories.append((key, title, line.number, Body(self.file, (3, 4, 5, 6))))

    def _malformed_story_heading(self, text: str) -> str:
        if _STORY_WORD.match(text):
            return (
                f"malformed story heading '## {text}'; write '## Story {self.epic_number}.N: Title'"
            )
        return (
            f"unexpected heading '## {text}'; level-2 headings are stories "
            f"('## Story {self.epic_number}.N: Title'), use '###' for other sections"
        )

    def finish(self) -> ParsedEpic:
        if self.epic_number is None:
            raise parse_error(
                self.file, 1, "no epic heading; start the file with '# Epic N: Title'"
            )
        stories = tuple(
            ParsedStory(key, title, body.description, tuple(body.criteria), line)
            for key, title, line, body in self.stories
        )
        return ParsedEpic(
            key=str(self.epic_number),
            title=self.epic_title,
            description=self.epic_body.description,
            stories=stories,
            file=self.file,
            line=self.epic_line,
        )


def _epic_files(path: Path) -> list[Path]:
    """``path`` itself, or the ``epic-*.md`` files in it in natural name order."""
    if path.is_dir():
        files = sorted(path.glob(EPIC_FILE_PATTERN), key=lambda p: _natural_key(p.name))
        if not files:
            raise ValidationFailed(
                f"{path}: no {EPIC_FILE_PATTERN} files in this folder", file=str(path)
            )
        return files
    if path.is_file():
        return [path]
    raise ValidationFailed(f"{path}: no such file or folder", file=str(path))


def _natural_key(name: str) -> tuple[tuple[int, str], ...]:
    """``epic-2.md`` before ``epic-10.md``."""
    return tuple(
        (int(part), "") if part.isdigit() else (0, part) for part in re.split(r"(\d+)", name)
    )
