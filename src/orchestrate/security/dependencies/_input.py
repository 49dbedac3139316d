"""Reading one lockfile or manifest: bounded in size, decoded strictly, and errors that
name the file and line (a ``ValidationFailed``, never a traceback from a parser)."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

from orchestrate.core.errors import ValidationFailed

MAX_FILE_BYTES = 50 * 1024 * 1024
"""The largest lockfile read; a monorepo's package-lock.json reaches tens of megabytes."""


def relative(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.name


def read_text(path: Path, source: str) -> str:
    """The file's text; ``ValidationFailed`` when it is too large or not UTF-8."""
    try:
        with path.open("rb") as stream:
            data = stream.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        raise ValidationFailed(
            f"{source}: cannot be read ({error.strerror}).", path=source
        ) from error
    if len(data) > MAX_FILE_BYTES:
        raise ValidationFailed(
            f"{source}: larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB; not read as a lockfile.",
            path=source,
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise invalid(source, line, "is not UTF-8 text") from error


def invalid(source: str, line: int | None, what: str) -> ValidationFailed:
    where = f"{source}, line {line}" if line else source
    return ValidationFailed(
        f"{where}: {what}. Fix or regenerate the file, or exclude it from the scan.",
        path=source,
        line=line,
    )


def load_json(text: str, source: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise invalid(source, error.lineno, f"is not valid JSON ({error.msg})") from error
    except RecursionError as error:
        raise invalid(source, None, "is nested too deeply") from error


def load_toml(text: str, source: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        found = re.search(r"line (\d+)", str(error))
        line = int(found.group(1)) if found else None
        if line is None and "end of document" in str(error):
            line = max(len(text.splitlines()), 1)
        raise invalid(source, line, f"is not valid TOML ({error})") from error
    except RecursionError as error:
        raise invalid(source, None, "is nested too deeply") from error


def require_mapping(value: object, source: str, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise invalid(source, None, f"{what} is not a table/object")
    return value


def text_of(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


class LineFinder:
    """Lines where a text mentions something, found once per needle: lockfile formats
    parsed by ``json``/``tomllib`` lose positions, so readers look their entries up."""

    def __init__(self, text: str) -> None:
        self._lines = text.splitlines()

    def first(self, needle: str, start: int = 0) -> int | None:
        for index in range(start, len(self._lines)):
            if needle in self._lines[index]:
                return index + 1
        return None

    def blocks(self, header: str, key_pattern: re.Pattern[str]) -> list[tuple[str, int]]:
        """For every ``header`` line (``[[package]]``), the first key matching
        ``key_pattern`` after it, as (captured value, 1-based line)."""
        found: list[tuple[str, int]] = []
        inside = False
        for number, line in enumerate(self._lines, start=1):
            if line.strip() == header:
                inside = True
                continue
            if inside:
                match = key_pattern.match(line)
                if match:
                    found.append((match.group(1), number))
                    inside = False
        return found
