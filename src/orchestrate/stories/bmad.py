"""Read BMAD-style markdown: epic files with their stories, and single-story files.

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
context carries ``file`` and ``line``. Nothing here touches the database.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from orchestrate.core.errors import ValidationFailed
from orchestrate.stories.models import (
    CRITERION_MAX_LENGTH,
    TITLE_MAX_LENGTH,
    AcceptanceCriterion,
    Priority,
    StoryStatus,
    all_checked,
)

EPIC_FILE_PATTERN = "epic-*.md"
STORY_FILE_KEYS = ("epic", "priority", "labels", "assignee")

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*$")
# After the number: a colon, full stop, hyphen, en dash or em dash, then the title.
_SEPARATOR = r"[:.\-\u2013\u2014]"
_EPIC_HEADING = re.compile(rf"^Epic\s+(\d+)\s*(?:{_SEPARATOR}\s*(.*))?$", re.IGNORECASE)
_STORY_HEADING = re.compile(rf"^Story\s+(\d+)\.(\d+)\s*(?:{_SEPARATOR}\s*(.*))?$", re.IGNORECASE)
_STORY_WORD = re.compile(r"^Story\b", re.IGNORECASE)
_CRITERIA_HEADING = re.compile(r"^Acceptance\s+Criteria\s*:?$", re.IGNORECASE)
_CHECKBOX = re.compile(r"^\s*[-*+]\s+\[([ xX])\](?:\s+(.*?))?\s*$")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s")
_FENCE = re.compile(r"^\s*(```|~~~)")
_FRONT_MATTER_KEY = re.compile(r"^([A-Za-z_][\w-]*)\s*:")


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


def parse_error(file: str, line: int, problem: str) -> ValidationFailed:
    return ValidationFailed(f"{file}:{line}: {problem}", file=file, line=line)


@dataclass(frozen=True)
class _Line:
    number: int
    text: str
    is_code: bool  # inside a fence, or a fence delimiter: never markup


def _scan(text: str) -> Iterator[_Line]:
    """Numbered lines, each marked when it belongs to a fenced code block."""
    in_fence = False
    for number, raw in enumerate(text.removeprefix("\ufeff").splitlines(), start=1):
        fence = _FENCE.match(raw) is not None
        yield _Line(number, raw.rstrip(), in_fence or fence)
        if fence:
            in_fence = not in_fence


class _Body:
    """Collects one story's description lines and checkboxes."""

    def __init__(self, file: str, criteria_heading_levels: tuple[int, ...]) -> None:
        self.file = file
        self.criteria_heading_levels = criteria_heading_levels
        self.lines: list[str] = []
        self.criteria: list[AcceptanceCriterion] = []
        self._continues_criterion = False

    def add(self, line: _Line) -> None:
        if line.is_code:
            self._text(line.text)
            return
        checkbox = _CHECKBOX.match(line.text)
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
        heading = _HEADING.match(line.text)
        if (
            heading
            and len(heading.group(1)) in self.criteria_heading_levels
            and _CRITERIA_HEADING.match(heading.group(2))
        ):
            self._continues_criterion = False
            return
        self._text(line.text)

    def _criterion(self, line: _Line, criterion: AcceptanceCriterion) -> None:
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


def _title_or_fail(file: str, line: int, heading: str, title: str | None, example: str) -> str:
    cleaned = " ".join((title or "").split())
    if not cleaned:
        raise parse_error(file, line, f"heading '{heading}' has no title; write '{example}'")
    if len(cleaned) > TITLE_MAX_LENGTH:
        raise parse_error(
            file, line, f"title of '{heading}' is longer than {TITLE_MAX_LENGTH} characters"
        )
    return cleaned


class _EpicParser:
    def __init__(self, file: str) -> None:
        self.file = file
        self.epic_number: int | None = None
        self.epic_line = 0
        self.epic_title = ""
        self.epic_body = _Body(file, criteria_heading_levels=())
        self.stories: list[tuple[str, str, int, _Body]] = []
        self.story_lines: dict[str, int] = {}

    def feed(self, line: _Line) -> None:
        heading = None if line.is_code else _HEADING.match(line.text)
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
        elif not line.is_code and _CHECKBOX.match(line.text):
            raise parse_error(
                self.file,
                line.number,
                "checkbox outside any story; acceptance criteria belong under a "
                "'## Story N.M: Title' heading",
            )
        else:
            self.epic_body.add(line)

    def _epic_heading(self, line: _Line, text: str) -> None:
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
        self.epic_title = _title_or_fail(
            self.file, line.number, heading, match.group(2), f"{heading}: Title"
        )
        self.epic_number, self.epic_line = number, line.number

    def _story_heading(self, line: _Line, text: str) -> None:
        if self.epic_number is None:
            raise parse_error(
                self.file,
                line.number,
                f"story heading '## {text}' comes before the epic heading '# Epic N: Title'",
            )
        match = _STORY_HEADING.match(text)
        if match is None:
            problem = (
                f"malformed story heading '## {text}'; write '## Story {self.epic_number}.N: Title'"
                if _STORY_WORD.match(text)
                else f"unexpected heading '## {text}'; level-2 headings are stories "
                f"('## Story {self.epic_number}.N: Title'), use '###' for other sections"
            )
            raise parse_error(self.file, line.number, problem)
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
        title = _title_or_fail(self.file, line.number, heading, match.group(3), f"{heading}: Title")
        self.story_lines[key] = line.number
        self.stories.append((key, title, line.number, _Body(self.file, (3, 4, 5, 6))))

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


def parse_epic(text: str, file: str) -> ParsedEpic:
    """Parse one epic file; ``file`` is only used to name it in error messages."""
    parser = _EpicParser(file)
    for line in _scan(text):
        parser.feed(line)
    return parser.finish()


def read_epics(path: Path) -> tuple[ParsedEpic, ...]:
    """Parse one epic file, or every ``epic-*.md`` in a folder (in natural name order).

    All files are parsed before anything is returned, and two files defining the same
    epic number are refused, so a caller can import the result all or nothing.
    """
    if path.is_dir():
        files = sorted(path.glob(EPIC_FILE_PATTERN), key=lambda p: _natural_key(p.name))
        if not files:
            raise ValidationFailed(
                f"{path}: no {EPIC_FILE_PATTERN} files in this folder", file=str(path)
            )
    elif path.is_file():
        files = [path]
    else:
        raise ValidationFailed(f"{path}: no such file or folder", file=str(path))
    epics: list[ParsedEpic] = []
    seen: dict[str, ParsedEpic] = {}
    for file in files:
        epic = parse_epic(_read_text(file), str(file))
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


def parse_story_file(text: str, file: str) -> StoryFile:
    """Parse a single story: optional YAML front matter, a '# Title', description, boxes."""
    lines = list(_scan(text))
    front = _FrontMatter(file)
    if lines and not lines[0].is_code and lines[0].text == "---":
        lines = front.load(lines)
    title: str | None = None
    body = _Body(file, criteria_heading_levels=(2, 3, 4, 5, 6))
    for line in lines:
        heading = None if line.is_code else _HEADING.match(line.text)
        if title is None:
            if heading and len(heading.group(1)) == 1:
                title = _title_or_fail(file, line.number, "#", heading.group(2), "# Title")
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
    return parse_story_file(_read_text(path), str(path))


class _FrontMatter:
    """The YAML block between ``---`` lines, with the line of each key for error messages."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.data: dict[str, Any] = {}
        self.key_lines: dict[str, int] = {}

    def load(self, lines: list[_Line]) -> list[_Line]:
        """Read the front matter from ``lines``; returns the lines after it."""
        end = next((i for i, line in enumerate(lines[1:], 1) if line.text in ("---", "...")), None)
        if end is None:
            raise parse_error(self.file, 1, "front matter opened with '---' is never closed")
        source = "\n".join(line.text for line in lines[1:end])
        try:
            data = YAML(typ="safe", pure=True).load(source)
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
        self.data = {str(key): value for key, value in (data or {}).items()}
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


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ValidationFailed(f"{path}: not UTF-8 text", file=str(path)) from None
    except OSError as error:
        raise ValidationFailed(f"{path}: cannot read ({error.strerror})", file=str(path)) from None


def _natural_key(name: str) -> tuple[tuple[int, str], ...]:
    """``epic-2.md`` before ``epic-10.md``."""
    return tuple(
        (int(part), "") if part.isdigit() else (0, part) for part in re.split(r"(\d+)", name)
    )
