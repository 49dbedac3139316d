"""Read agent types: Markdown files with YAML front matter, like ``.claude/agents/*.md``.

A definition file::

    ---
    name: story-developer
    description: Implement one story test-first and commit it on the agent's branch.
    tools: [read_file, write_file, edit_file, list_files, grep, bash, git]
    max_turns: 80
    max_cost_usd: 5
    ---
    You are a software engineer ... (the system prompt)

Front matter keys:

* ``name`` (required): lowercase letters, digits and dashes; it names the type, whatever
  the file is called.
* ``description`` (required): one line saying when to use the type.
* ``tools``: the allowlist, a YAML list or a comma-separated string as Claude Code
  writes it (``tools: Read, Grep, Glob``). Without the key the type may use every tool
  (``ALL_TOOLS``), as in Claude Code; ``tools: []`` allows none. ``finish`` is always
  available and need not be listed.
* ``model``, ``provider``: defaults a run may override; ``model: inherit`` means the
  configured default.
* ``max_turns``, ``max_tokens`` (integers ≥ 1), ``max_cost_usd`` (a decimal > 0),
  ``max_wall_minutes`` (a number > 0).
* ``stuck_repeats`` (an integer ≥ 2): how often a cycle of identical tool calls may
  repeat before the agent is warned, then failed (``stuck.py``; default 4).
* ``network``: ``true`` gives the type's bash outbound network access (user-mode
  networking without the host's loopback); off by default.
* Any other key (Claude Code files have e.g. ``color``) is kept in ``extra``.

The body after the closing ``---`` is the system prompt and must not be empty. Every
problem raises ``ValidationFailed`` whose message starts with ``file:line:`` and whose
context carries ``file`` and ``line``.

Where types come from, later overriding earlier by ``name``: the built-ins shipped in
``agents/prompts/``, then ``<home>/agents/``, then ``<repo>/.claude/agents/``, then
``<repo>/.orchestrate/agents/``.
"""

from __future__ import annotations

import difflib
import math
import os
import re
import stat
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache, lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any

from ruamel.yaml.error import MarkedYAMLError, YAMLError

from orchestrate.agents.models import AgentDefinition
from orchestrate.agents.stuck import MIN_REPEATS
from orchestrate.core.bounded_yaml import FRONT_MATTER_LIMITS, load_bounded
from orchestrate.core.errors import NotFound, ValidationFailed

ALL_TOOLS = (
    "read_file",
    "write_file",
    "edit_file",
    "list_files",
    "grep",
    "bash",
    "git",
    "spawn_agent",
)
"""The tools of a type whose front matter has no ``tools`` key."""

KNOWN_KEYS = (
    "name",
    "description",
    "tools",
    "model",
    "provider",
    "max_turns",
    "max_cost_usd",
    "max_tokens",
    "max_wall_minutes",
    "stuck_repeats",
    "network",
)

_NAME = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_NAME_MAX_LENGTH = 64
_TOOL_NAME = re.compile(r"^[A-Za-z][\w.-]*$")
_TOP_LEVEL_KEY = re.compile(r"^([A-Za-z_][\w-]*)\s*:")
_DELIMITER = "---"


def parse_definition(text: str, source: Path) -> AgentDefinition:
    """Parse one definition file; ``source`` names it in errors and is kept on the result."""
    front = _FrontMatter.read(text, str(source))
    return AgentDefinition(
        name=front.name(),
        description=front.required_text("description"),
        system_prompt=front.body(),
        tools=front.tools(),
        source=source,
        model=front.model(),
        provider=front.optional_text("provider"),
        max_turns=front.positive_int("max_turns"),
        max_cost_usd=front.positive_decimal("max_cost_usd"),
        max_tokens=front.positive_int("max_tokens"),
        max_wall_minutes=front.positive_number("max_wall_minutes"),
        stuck_repeats=front.repeat_count("stuck_repeats"),
        network=front.flag("network"),
        extra={key: value for key, value in front.data.items() if key not in KNOWN_KEYS},
    )


def read_definition(path: Path) -> AgentDefinition:
    """Read and parse one definition file; unreadable files fail like invalid ones.

    Every agent start reads the types it could use, so a parse is kept while the file's
    size, modification time (to the nanosecond) and inode stay the same: parsing the
    YAML front matter costs about a millisecond a file, a ``stat`` microseconds.
    """
    try:
        found = path.stat()
    except OSError as error:
        raise _error(str(path), 1, f"cannot read ({error.strerror})") from None
    if _racy(found):
        return _parsed_definition.__wrapped__(path, found.st_mtime_ns, found.st_size, 0)
    return _parsed_definition(path, found.st_mtime_ns, found.st_size, found.st_ino)


@lru_cache(maxsize=1024)
def _parsed_definition(path: Path, _mtime_ns: int, _size: int, _inode: int) -> AgentDefinition:
    """``read_definition`` of one version of a file (the stat fields are the cache key)."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise _error(str(path), 1, "not UTF-8 text") from None
    except OSError as error:
        raise _error(str(path), 1, f"cannot read ({error.strerror})") from None
    return parse_definition(text, path)


def definition_folders(home: Path, repo: Path | None) -> list[Path]:
    """The folders user types are read from, lowest precedence first."""
    folders = [home / "agents"]
    if repo is not None:
        folders += [repo / ".claude" / "agents", repo / ".orchestrate" / "agents"]
    return folders


def load_definitions(home: Path, repo: Path | None) -> dict[str, AgentDefinition]:
    """Every agent type by name: built-ins, then home, ``.claude``, ``.orchestrate``."""
    definitions = {definition.name: definition for definition in builtin_definitions()}
    for folder in definition_folders(home, repo):
        definitions.update(_by_name(read_definition(path) for path in _markdown_files(folder)))
    return dict(sorted(definitions.items()))


def get_definition(name: str, home: Path, repo: Path | None) -> AgentDefinition:
    """One agent type by name; ``NotFound`` lists the names there are."""
    definitions = load_definitions(home, repo)
    if name in definitions:
        return definitions[name]
    available = sorted(definitions)
    close = difflib.get_close_matches(name, available, n=1)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    raise NotFound(
        f"No agent type '{name}'; available: {', '.join(available)}.{hint}",
        name=name,
        available=available,
    )


@cache
def builtin_definitions() -> tuple[AgentDefinition, ...]:
    """The agent types shipped in ``orchestrate/agents/prompts``, sorted by name."""
    folder = files("orchestrate.agents") / "prompts"
    entries = sorted(
        (entry for entry in folder.iterdir() if entry.name.endswith(".md")),
        key=lambda entry: entry.name,
    )
    parsed = (
        parse_definition(entry.read_text(encoding="utf-8"), Path(str(entry))) for entry in entries
    )
    return tuple(_by_name(parsed).values())


def _markdown_files(folder: Path) -> list[Path]:
    """The definition files of ``folder``, its listing kept while the folder is unchanged.

    Every agent job looks its type up; listing a folder costs a directory read and a
    ``stat`` per entry, checking it is unchanged one ``stat``. Adding, removing or
    renaming a file (which is how editors save) changes the folder's modification time.
    """
    try:
        found = folder.stat()
    except OSError:
        return []
    if not stat.S_ISDIR(found.st_mode):
        return []
    if _racy(found):
        return list(_list(folder))
    return list(_listing(folder, found.st_mtime_ns, found.st_ino))


def _racy(found: os.stat_result) -> bool:
    """Whether a cache keyed on this modification time could miss a change: file times
    tick in steps (a few milliseconds on Linux, up to a second on some filesystems), so a
    second change within the step of the one that set them leaves them as they were.
    Times less than a second old are not trusted, as git does with its index."""
    return time.time_ns() - found.st_mtime_ns < _RACY_NS


_RACY_NS = 1_000_000_000


@lru_cache(maxsize=256)
def _listing(folder: Path, _mtime_ns: int, _inode: int) -> tuple[Path, ...]:
    """``_markdown_files`` of one version of a folder (the stat fields are the cache key)."""
    return _list(folder)


def _list(folder: Path) -> tuple[Path, ...]:
    return tuple(
        sorted(
            path for path in folder.glob("*.md") if path.is_file() and not path.name.startswith(".")
        )
    )


def _by_name(definitions: Iterable[AgentDefinition]) -> dict[str, AgentDefinition]:
    """Index one folder's definitions; two files of one folder may not share a name."""
    found: dict[str, AgentDefinition] = {}
    for definition in definitions:
        earlier = found.get(definition.name)
        if earlier is not None:
            raise _error(
                str(definition.source),
                1,
                f"agent type '{definition.name}' is also defined by {earlier.source}; "
                "rename one of them",
            )
        found[definition.name] = definition
    return found


def _error(file: str, line: int, problem: str) -> ValidationFailed:
    return ValidationFailed(f"{file}:{line}: {problem}", file=file, line=line)


@dataclass(frozen=True)
class _Line:
    number: int
    text: str


def _lines(text: str) -> Iterator[_Line]:
    for number, raw in enumerate(text.removeprefix("\ufeff").splitlines(), start=1):
        yield _Line(number, raw.rstrip())


class _FrontMatter:
    """The YAML between the ``---`` lines, the body after them, and the line of each key."""

    def __init__(self, file: str, data: dict[str, Any], key_lines: dict[str, int]) -> None:
        self.file = file
        self.data = data
        self.key_lines = key_lines
        self._body = ""
        self._body_line = 1

    @classmethod
    def read(cls, text: str, file: str) -> _FrontMatter:
        lines = list(_lines(text))
        if not lines or lines[0].text != _DELIMITER:
            raise _error(
                file,
                1,
                "no front matter; start the file with a '---' line, then 'name:', "
                "'description:' and 'tools:', then '---' and the system prompt",
            )
        end = next((i for i, line in enumerate(lines[1:], 1) if line.text in ("---", "...")), None)
        if end is None:
            raise _error(file, 1, "front matter opened with '---' is never closed by '---'")
        inside = lines[1:end]
        key_lines: dict[str, int] = {}
        for line in inside:
            key = _TOP_LEVEL_KEY.match(line.text)
            if key:
                key_lines.setdefault(key.group(1), line.number)
        front = cls(file, _load_yaml(file, inside), key_lines)
        front._body = "\n".join(line.text for line in lines[end + 1 :]).strip()
        front._body_line = lines[end].number + 1
        return front

    def body(self) -> str:
        if not self._body:
            raise _error(
                self.file,
                self._body_line,
                "no system prompt; write the agent's instructions below the closing '---'",
            )
        return self._body

    def name(self) -> str:
        name = self.required_text("name")
        if len(name) > _NAME_MAX_LENGTH or not _NAME.match(name):
            raise self._error(
                "name",
                f"name {name!r} must be lowercase letters, digits and single dashes "
                f"(at most {_NAME_MAX_LENGTH} characters), e.g. 'code-reviewer'",
            )
        return name

    def required_text(self, key: str) -> str:
        value = self.optional_text(key)
        if value is None:
            raise self._error(key, f"missing '{key}'; every agent type needs a {key}")
        return value

    def optional_text(self, key: str) -> str | None:
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self._error(key, f"{key} must be text, got {value!r}")
        if not value.strip():
            raise self._error(key, f"{key} is empty; remove the line or give it a value")
        return value.strip()

    def model(self) -> str | None:
        model = self.optional_text("model")
        # Claude Code's ``model: inherit`` means "the session's model": our configured default.
        return None if model == "inherit" else model

    def tools(self) -> tuple[str, ...]:
        if "tools" not in self.data:
            return ALL_TOOLS
        value = self.data["tools"]
        if isinstance(value, str):
            names = [part.strip() for part in value.split(",") if part.strip()]
        elif isinstance(value, list) and all(isinstance(item, str) for item in value):
            names = [item.strip() for item in value]
        else:
            raise self._error(
                "tools",
                f"tools must be a list of tool names, e.g. [read_file, grep] or "
                f"'Read, Grep'; got {value!r} (remove the line to allow every tool)",
            )
        for name in names:
            if not _TOOL_NAME.match(name):
                raise self._error("tools", f"{name!r} is not a tool name")
        return tuple(dict.fromkeys(names))

    def flag(self, key: str) -> bool:
        value = self.data.get(key, False)
        if not isinstance(value, bool):
            raise self._error(key, f"{key} must be true or false, got {value!r}")
        return value

    def positive_int(self, key: str) -> int | None:
        value = self.data.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise self._error(key, f"{key} must be a positive integer, got {value!r}")
        return value

    def repeat_count(self, key: str) -> int | None:
        value = self.data.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < MIN_REPEATS:
            raise self._error(
                key,
                f"{key} must be an integer of at least {MIN_REPEATS} (how many times a "
                f"repeated call counts as a loop), got {value!r}",
            )
        return value

    def positive_decimal(self, key: str) -> Decimal | None:
        value = self.data.get(key)
        if value is None:
            return None
        amount: Decimal | None = None
        if isinstance(value, int | float | str) and not isinstance(value, bool):
            try:
                # Through str so that 0.1 stays 0.1 rather than its binary approximation.
                amount = Decimal(str(value).strip())
            except InvalidOperation:
                amount = None
        if amount is None or not amount.is_finite() or amount <= 0:
            raise self._error(key, f"{key} must be a positive amount such as 2.50, got {value!r}")
        return amount

    def positive_number(self, key: str) -> float | None:
        value = self.data.get(key)
        if value is None:
            return None
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or value <= 0
        ):
            raise self._error(key, f"{key} must be a positive number, got {value!r}")
        return float(value)

    def _error(self, key: str, problem: str) -> ValidationFailed:
        return _error(self.file, self.key_lines.get(key, 1), problem)


def _load_yaml(file: str, lines: list[_Line]) -> dict[str, Any]:
    first = lines[0].number if lines else 2
    source = "\n".join(line.text for line in lines)
    try:
        data = load_bounded(source, typ="safe", limits=FRONT_MATTER_LIMITS)
    except MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = first + mark.line if mark is not None else first
        raise _error(file, line, f"invalid YAML front matter: {error.problem}") from None
    except YAMLError as error:
        raise _error(file, first, f"invalid YAML front matter: {error}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise _error(file, first, "front matter must be a mapping such as 'name: explorer'")
    return {str(key): value for key, value in data.items()}
